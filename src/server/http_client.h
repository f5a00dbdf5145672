#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace boost::asio {
class io_context;
}

// A one-shot HTTP/1.1 client for what Gyre fetches itself (JWK Sets now; proxies later):
// http:// and https:// (system CA store, SNI, host name verification), one request per
// connection, a deadline over the whole exchange, a bounded response body.
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

}  // namespace gyre::server
