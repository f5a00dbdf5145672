#pragma once

#include <functional>
#include <string>

namespace gyre::node {
class Node;
}

// The HTTP server API (server-api.md §1): POST <prefix>/<method>, the legacy POST <prefix>
// command stream and POST <prefix>/batch. Independent of the HTTP library: the server hands
// it a parsed request and sends back the Response. Thread-safe entry point; handle() is called
// on a shard thread and `done` runs later on that same shard.
namespace gyre::api {

struct Request {
  std::string method;  // HTTP verb, e.g. "POST"
  std::string path;    // without the query string
  std::string query;   // raw query string (no '?')
  std::string body;
  std::string x_api_key;       // X-API-Key header ("" if absent)
  std::string authorization;   // Authorization header
  std::string error_mode;      // X-Centrifugo-Error-Mode header
};

struct Response {
  int status = 200;
  std::string content_type;  // "" = no Content-Type header
  std::string body;
};

class HttpApi {
 public:
  explicit HttpApi(node::Node& node);

  // True when `path` is served by the API (exact routes under api_handler_prefix).
  bool matches(const std::string& path) const;
  void handle(Request req, std::function<void(Response)> done);

 private:
  node::Node& node_;
};

}  // namespace gyre::api
