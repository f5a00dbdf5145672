#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

// TLS for Redis connections (redis_tls*, redis_sentinel_tls*). The only place that sees
// Asio's ssl::stream and OpenSSL: a plain connection never touches it (redis_connection.cc
// branches once per read/write on whether it holds a TlsStream).
namespace gyre::engine::redis {

// What a client TLS context needs, PEM text only (the config loader read and checked it).
struct TlsSettings {
  std::string cert_pem;  // client certificate chain, leaf first (with key_pem), or empty
  std::string key_pem;
  std::string root_ca_pem;  // CAs that verify the server; empty: the system CA store
  std::string server_name;  // SNI and name to verify; empty: the host connected to
  bool insecure_skip_verify = false;
};

// An OpenSSL client context (SSL_CTX), minimum TLS 1.2. Immutable once created and shared by
// every shard thread: OpenSSL allows creating sessions from one SSL_CTX concurrently.
class TlsContext {
 public:
  [[nodiscard]] static std::expected<std::shared_ptr<const TlsContext>, std::string> create(
      const TlsSettings& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsSettings& settings() const { return settings_; }

 private:
  friend class TlsStreamImpl;
  TlsContext();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TlsSettings settings_;
};

// One TLS session over a connected TCP socket the caller owns (and closes to abort). Each
// operation's handler runs on the socket's loop; the session stays alive until the handlers
// of its pending operations have run, so the caller may drop it at any time.
//
// Thread affinity: shard-local (the socket's loop).
class TlsStream {
 public:
  using IoHandler = std::function<void(boost::system::error_code, std::size_t)>;
  // `host`: what the socket connected to (server name and verification when the settings do
  // not name one).
  static std::shared_ptr<TlsStream> create(std::shared_ptr<const TlsContext> ctx,
                                           boost::asio::ip::tcp::socket& socket,
                                           const std::string& host);
  virtual ~TlsStream() = default;
  // Client handshake; `done` gets "" or why it failed (incl. the certificate check's reason).
  virtual void handshake(std::function<void(std::string)> done) = 0;
  virtual void read_some(boost::asio::mutable_buffer buf, IoHandler done) = 0;
  // Writes the whole buffer.
  virtual void write(boost::asio::const_buffer buf, IoHandler done) = 0;
};

}  // namespace gyre::engine::redis
