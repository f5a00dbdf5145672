#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/http_proxy.h"

namespace boost::asio {
class io_context;
}

// HTTP/1.1 clients for what Gyre fetches itself: http:// and https:// (system CA store, SNI,
// host name verification), a deadline over the whole exchange, a bounded response body.
// http_get is one-shot (JWK Sets); HttpPool keeps connections alive (proxies).
namespace gyre::server {

struct HttpResult {
  int status = 0;     // HTTP status; 0 when the request failed
  std::string body;   // response body, or the failure reason when status is 0
};

// Runs on `io`; `done` is called exactly once, on `io`'s thread.
void http_get(boost::asio::io_context& io, const std::string& url,
              std::chrono::milliseconds timeout, std::function<void(HttpResult)> done);

// Splits an http(s) URL. False for anything else.
struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path + query, "/" when empty
};
bool parse_url(std::string_view url, ParsedUrl& out);

// The proxy client of one shard: POSTs over keep-alive connections, pooled per endpoint
// (scheme, host, port). Shard-local: constructed for a shard and used only on its thread; its
// coroutines run on that shard's io_context and never block it (DNS goes through Asio's
// resolver thread).
//   * At most `max_inflight` requests per endpoint at once; more wait for a slot, within
//     their own timeout (which covers the wait, connect, send and read).
//   * At most `max_idle` idle connections kept per endpoint; a reused connection the server
//     closed meanwhile is retried once on a fresh one (as Go's transport does).
//   * A response body above `body_limit` bytes, a header above 8 KiB, or a response that
//     does not end before the timeout fails the request and closes its connection.
class HttpPool {
 public:
  struct Limits {
    size_t max_inflight = 256;
    size_t max_idle = 64;
    uint64_t body_limit = 16ull * 1024 * 1024;
  };
  HttpPool(boost::asio::io_context& io, Limits limits);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // `done` runs exactly once, on this shard, never inline.
  void post(proxy::HttpRequest req, std::function<void(proxy::HttpResponse)> done);

  struct Endpoint;  // defined in http_client.cc

 private:
  boost::asio::io_context& io_;
  Limits limits_;
  std::unordered_map<std::string, std::shared_ptr<Endpoint>> endpoints_;
};

}  // namespace gyre::server
