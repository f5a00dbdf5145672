#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "tls/certificate_source.h"

// An RFC 8555 (ACME) client: what autocert needs to obtain one certificate for one DNS name
// from a CA such as Let's Encrypt. docs/operations.md (ACME).
namespace gyre::tls {

inline constexpr std::string_view kLetsEncryptDirectory =
    "https://acme-v02.api.letsencrypt.org/directory";

struct AcmeClientOptions {
  std::string directory_url = std::string(kLetsEncryptDirectory);
  // PEM file of CAs trusted for the directory's HTTPS; empty = the system store.
  std::string directory_ca;
  std::string email;  // account contact ("mailto:"), optional
  std::chrono::milliseconds request_timeout{30000};
};

// How the CA checks that we control the name. http-01: GET
// http://<name>/.well-known/acme-challenge/<token> answers the key authorization. tls-alpn-01
// (RFC 8737): a TLS handshake to <name>:443 offering only ALPN "acme-tls/1" gets a
// self-signed certificate carrying the critical acmeIdentifier extension.
enum class ChallengeType { kHttp01, kTlsAlpn01 };

// Where the client publishes challenge answers while the CA validates them (the Autocert).
// Called on the client's loop; each put is followed by its drop.
struct ChallengeHooks {
  std::function<void(const std::string& token, const std::string& key_authorization)> put_http01;
  std::function<void(const std::string& token)> drop_http01;
  std::function<void(const std::string& name, std::shared_ptr<const CertifiedKey>)> put_tls_alpn01;
  std::function<void(const std::string& name)> drop_tls_alpn01;
};

// An issued certificate: the chain (leaf first) with its key, and the same as PEM in the
// layout of Go's autocert cache ("EC PRIVATE KEY" then the CERTIFICATE blocks), so a cache
// directory written by Centrifugo is read by Gyre and the other way round.
struct IssuedCertificate {
  std::shared_ptr<const CertifiedKey> cert;
  std::string pem;
};

// Shard-local: lives on one io_context (the "ACME loop") and is used only from it. All I/O is
// asynchronous (Beast over Asio, DNS on Asio's resolver thread); a new connection per request
// (an issuance is a dozen requests, once in 60 days).
class AcmeClient {
 public:
  // `account_key`: ES256 (P-256) key of the ACME account; registered (or found again, the CA
  // answers 200 for a known key) on the first obtain().
  AcmeClient(boost::asio::io_context& io, AcmeClientOptions options, EvpPkeyPtr account_key);
  ~AcmeClient();
  AcmeClient(const AcmeClient&) = delete;
  AcmeClient& operator=(const AcmeClient&) = delete;

  // Runs one order for `name` to the end: new order, the authorization's challenge of `type`
  // (answer published through `hooks`, dropped after), finalize with a CSR for a fresh P-256
  // key, poll (honouring Retry-After), download the chain. The error is a one-line reason
  // (with the CA's problem document when it sent one).
  boost::asio::awaitable<std::expected<IssuedCertificate, std::string>> obtain(
      std::string name, ChallengeType type, const ChallengeHooks& hooks);

  // HTTP requests sent to the CA since construction (tests: a cached certificate costs none).
  // Thread-safe.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

  struct Reply;

 private:
  boost::asio::awaitable<std::expected<Reply, std::string>> fetch(std::string method,
                                                                 std::string url,
                                                                 std::string body);
  boost::asio::awaitable<std::expected<void, std::string>> ensure_directory();
  boost::asio::awaitable<std::expected<std::string, std::string>> fresh_nonce();
  // A JWS-signed POST (`payload` empty = POST-as-GET). Retries a badNonce refusal.
  boost::asio::awaitable<std::expected<Reply, std::string>> post(const std::string& url,
                                                                const std::string& payload);
  boost::asio::awaitable<std::expected<void, std::string>> ensure_account();
  boost::asio::awaitable<std::expected<void, std::string>> authorize(
      const std::string& authz_url, ChallengeType type, const ChallengeHooks& hooks);

  boost::asio::io_context& io_;
  AcmeClientOptions options_;
  EvpPkeyPtr account_key_;
  std::string jwk_;         // the account key's JWK (RFC 7638 member order)
  std::string thumbprint_;  // base64url SHA-256 of jwk_
  std::string kid_;         // account URL once registered
  std::string new_nonce_url_, new_account_url_, new_order_url_;
  std::string nonce_;
  boost::asio::ssl::context ssl_;
  std::atomic<uint64_t> requests_{0};
};

// Helpers, exposed for tests. Thread-safe (pure).
// A new P-256 key.
EvpPkeyPtr generate_p256_key();
// "EC PRIVATE KEY" PEM of a P-256 key (as Go's x509.MarshalECPrivateKey), and back.
std::string ec_key_to_pem(EVP_PKEY* key);
EvpPkeyPtr key_from_pem(std::string_view pem);
// All CERTIFICATE blocks of a PEM text, in order.
std::vector<X509Ptr> certificates_from_pem(std::string_view pem);
std::string certificate_to_pem(X509* cert);
// RFC 8737 challenge certificate for `name` and `key_authorization`.
std::shared_ptr<const CertifiedKey> make_tls_alpn01_certificate(const std::string& name,
                                                                const std::string& key_authorization);
// Seconds since the epoch of the certificate's notAfter.
int64_t not_after(X509* cert);

}  // namespace gyre::tls
