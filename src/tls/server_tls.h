#pragma once

// TLS of the HTTP listeners (tls_* options, v6 http_server.tls / http_server.internal_tls):
// the listener's OpenSSL context and one connection's TLS engine over memory BIOs. No sockets
// and no Asio here: transport/byte_stream.h moves the bytes. Keeping OpenSSL's SSL API in this
// module (and out of headers) keeps build times down.

#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "tls/certificate_source.h"

struct ssl_st;
struct ssl_ctx_st;
struct bio_st;

namespace gyre::tls {

// Parses a PEM certificate chain (leaf first) and its PEM private key, checking that they
// match. The error names what is wrong ("no certificate", "private key does not match").
[[nodiscard]] std::expected<std::shared_ptr<const CertifiedKey>, std::string> parse_certified_key(
    std::string_view cert_pem, std::string_view key_pem);

// Checks that `pem` holds at least one certificate (a CA bundle), as Go's
// CertPool.AppendCertsFromPEM does.
[[nodiscard]] std::expected<void, std::string> check_ca_bundle(std::string_view pem);

// What a listener's context is made of. PEM text (files are read by config resolution).
struct ServerTlsOptions {
  // The fixed certificate (tls_cert/tls_key or the _pem variants). Ignored when a
  // CertificateSource is given.
  std::shared_ptr<const CertifiedKey> certificate;
  // Non-empty: mutual TLS. A client certificate is required and verified against these CAs
  // (Go's tls.RequireAndVerifyClientCert); their subjects are sent in the CertificateRequest.
  std::string client_ca_pem;
  // Offer "h2" before "http/1.1" in ALPN.
  bool offer_h2 = false;
};

class TlsConnection;

// One listener's TLS context: an SSL_CTX (TLS 1.2+), the certificate chosen per handshake in
// the client-hello callback (the fixed CertifiedKey, or the CertificateSource's answer for the
// SNI), ALPN selection ("acme-tls/1" for ACME validations, then "h2" if offered and enabled,
// else "http/1.1"). Immutable after create(); thread-safe: connections on any shard are made
// from it, and each keeps it alive (its callbacks run during that connection's handshake).
class ServerTlsContext : public std::enable_shared_from_this<ServerTlsContext> {
 public:
  [[nodiscard]] static std::expected<std::shared_ptr<const ServerTlsContext>, std::string> create(
      ServerTlsOptions options, std::shared_ptr<CertificateSource> source = nullptr);
  ~ServerTlsContext();
  ServerTlsContext(const ServerTlsContext&) = delete;
  ServerTlsContext& operator=(const ServerTlsContext&) = delete;

  // A fresh server-side connection engine (accept state).
  std::unique_ptr<TlsConnection> connection() const;

  bool offers_h2() const { return offer_h2_; }

 private:
  ServerTlsContext() = default;
  friend struct ContextCallbacks;

  ssl_ctx_st* ctx_ = nullptr;
  std::shared_ptr<const CertifiedKey> certificate_;
  std::shared_ptr<CertificateSource> source_;
  bool offer_h2_ = false;
};

// One connection's TLS state machine over memory BIOs: ciphertext is fed in with feed() and
// taken out with output()/consume_output(); the handshake runs inside read()/write().
// Shard-local: owned by its connection's ByteStream and used only on that shard.
class TlsConnection {
 public:
  enum class Status {
    kOk,        // bytes moved
    kWantRead,  // more ciphertext is needed (feed(), then call again)
    kClosed,    // the peer sent close_notify
    kError,     // handshake or protocol failure (an alert may be in output())
  };

  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Ciphertext received from the network.
  void feed(const char* data, size_t n);
  // Whether feed() has been called (the first bytes are not TLS yet before that).
  bool received() const { return received_; }
  // Plaintext out. kOk with n > 0, or another status with n == 0.
  Status read(char* buf, size_t cap, size_t& n);
  // Encrypts all of `data` (the output grows as needed).
  Status write(const char* data, size_t n);
  // Ciphertext waiting to be sent, and how much of it went out.
  std::string_view output() const { return std::string_view(out_).substr(out_off_); }
  void consume_output(size_t n);
  bool has_output() const { return out_off_ < out_.size(); }
  // Plaintext or ciphertext already received and not yet returned by read().
  bool has_buffered_input() const;
  // Queues close_notify.
  void shutdown();

  bool handshake_done() const;
  // The ALPN protocol selected ("" if none).
  std::string_view alpn() const;
  // The handshake was an ACME tls-alpn-01 validation: close after it.
  bool acme_validation() const { return acme_; }
  // The last OpenSSL error, for logs.
  const std::string& error() const { return error_; }

 private:
  friend class ServerTlsContext;
  friend struct ContextCallbacks;
  explicit TlsConnection(ssl_st* ssl);
  void drain_output();
  Status fail();

  std::shared_ptr<const ServerTlsContext> context_;  // its callbacks serve this handshake
  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // owned by ssl_
  bio_st* out_bio_ = nullptr;  // owned by ssl_
  std::string out_;
  size_t out_off_ = 0;
  std::string error_;
  bool acme_ = false;
  bool starved_ = false;  // read() wanted more than `in_` holds; cleared by feed()
  bool received_ = false;
};

}  // namespace gyre::tls
