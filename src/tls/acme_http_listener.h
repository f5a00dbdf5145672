#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "tls/autocert.h"

// The plain HTTP listener of tls_autocert_http (tls_autocert_http_addr, ":80" by default):
// serves ACME http-01 challenges from an Autocert and redirects everything else to https, as
// Centrifugo's http.Server{Handler: certManager.HTTPHandler(nil)}. docs/operations.md (ACME).
namespace gyre::tls {

// Shard-local: lives on one io_context and is used from its thread (start before it runs or on
// it). Connections are HTTP/1.1 keep-alive, one request at a time, header ≤ 8 KiB, body ≤
// 64 KiB (discarded), 30 s idle timeout. The Autocert must outlive the listener.
class AcmeHttpListener {
 public:
  AcmeHttpListener(boost::asio::io_context& io, const Autocert& autocert);
  ~AcmeHttpListener();
  AcmeHttpListener(const AcmeHttpListener&) = delete;
  AcmeHttpListener& operator=(const AcmeHttpListener&) = delete;

  // Binds `addr` ("host:port", "[v6]:port" or ":port" = every interface, Go's form) and starts
  // accepting. Returns the bound port (":0" picks a free one), or the reason it cannot listen
  // (a start-up error naming the address).
  [[nodiscard]] std::expected<uint16_t, std::string> listen(const std::string& addr);
  // Stops accepting; connections in flight end at their next read.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace gyre::tls
