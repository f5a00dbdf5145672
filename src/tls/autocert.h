#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "tls/acme_client.h"
#include "tls/certificate_source.h"

namespace gyre::config {
struct Config;
}

// ACME autocert (tls_autocert_* options): certificates for a fixed list of host names, obtained
// from an ACME CA (Let's Encrypt by default) and renewed before they expire, as Centrifugo's
// golang.org/x/crypto/acme/autocert Manager. docs/operations.md (ACME).
namespace gyre::tls {

struct AutocertOptions {
  std::vector<std::string> hosts;  // tls_autocert_host_whitelist (lower case, no trailing dot)
  std::string cache_dir;           // tls_autocert_cache_dir; empty = no cache (memory only)
  std::string email;               // tls_autocert_email
  std::string server_name;         // tls_autocert_server_name: used when the client sends no SNI
  bool http01 = false;             // tls_autocert_http: http-01, else tls-alpn-01
  std::string directory_url = std::string(kLetsEncryptDirectory);  // tls_autocert_directory_url
  std::string directory_ca;        // tls_autocert_directory_ca
  // Renew this long before notAfter (Go's autocert default: 30 days).
  std::chrono::seconds renew_before{std::chrono::hours(24 * 30)};
  // Failed orders are retried after retry_min, doubling up to retry_max.
  std::chrono::seconds retry_min{std::chrono::seconds(60)};
  std::chrono::seconds retry_max{std::chrono::hours(1)};
  std::chrono::milliseconds request_timeout{30000};
};

// The options of the tls_autocert_* keys (hosts from config::autocert_hosts()).
AutocertOptions autocert_options(const config::Config& config);

// The answer of the http-01 listener (tls_autocert_http_addr) to one request, as Go's
// autocert.Manager.HTTPHandler(nil): the key authorization for a pending token (200), 403 for
// a host outside the whitelist, 404 for an unknown token, and outside
// /.well-known/acme-challenge/ a 302 to https://<host without port><target> for GET/HEAD,
// 400 "Use HTTPS" otherwise.
struct Http01Answer {
  int status = 404;
  std::string body;
  std::string location;  // set for 302
};

// Thread-safe. Construction, start() and stop() happen on the ACME loop's thread (or before
// that loop runs); the issuance/renewal coroutine runs on that loop. certificate() and
// http01() are called from any thread (TLS handshakes on every shard, the http-01 listener):
// they answer from memory under mutex_, held only to copy a shared_ptr or a string (never
// across I/O). Destroy it (and the AcmeHttpListener) before its io_context.
class Autocert final : public CertificateSource {
 public:
  Autocert(boost::asio::io_context& io, AutocertOptions options);
  ~Autocert() override;
  Autocert(const Autocert&) = delete;
  Autocert& operator=(const Autocert&) = delete;

  // Reads the cache dir (the account key "acme_account+key" and one file per host, named as
  // the host, Go autocert's layout; a valid cached certificate costs no ACME request), then
  // starts the coroutine that obtains the missing certificates and renews each one
  // `renew_before` its notAfter. Cache files are written 0600 in a 0700 directory. Start-up
  // errors (cache dir not creatable, unreadable account key) are returned; ACME failures are
  // logged and retried with backoff, never fatal.
  [[nodiscard]] std::expected<void, std::string> start();
  // Stops the coroutine (its timer is cancelled; a request in flight ends with its timeout).
  void stop();

  // CertificateSource. SNI matched case-insensitively; empty SNI = server_name; a host outside
  // the whitelist or not (yet) issued → null.
  std::shared_ptr<const CertifiedKey> certificate(std::string_view server_name,
                                                  bool acme_tls_alpn) override;

  // The http-01 listener's answer. `host` is the Host header (a port is ignored).
  Http01Answer http01(std::string_view method, std::string_view host,
                      std::string_view target) const;

  // Called on the ACME loop after each certificate is obtained (and cached) for `host`.
  void on_issued(std::function<void(const std::string& host)> cb);

  struct Stats {
    uint64_t acme_requests = 0;  // HTTP requests sent to the CA
    uint64_t issued = 0;         // certificates obtained
    uint64_t from_cache = 0;     // certificates read from the cache dir at start
    uint64_t failures = 0;       // failed orders
  };
  Stats stats() const;

  struct State;  // autocert.cc

 private:
  std::shared_ptr<State> state_;
};

}  // namespace gyre::tls
