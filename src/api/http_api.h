#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/executor.h"

namespace gyre::node {
class Node;
}

// The HTTP server API (server-api.md §1): POST <prefix>/<method>, the legacy POST <prefix>
// command stream and POST <prefix>/batch. Independent of the HTTP library: the server hands
// it a parsed request and sends back the Response. Immutable after construction; handle() is
// called on a shard thread and `done` runs exactly once, later, on that same shard.
namespace gyre::api {

struct Request {
  std::string method;  // HTTP verb, e.g. "POST"
  std::string path;    // without the query string
  std::string query;   // raw query string (no '?')
  std::string body;
  std::string x_api_key;       // X-API-Key header ("" if absent)
  std::string authorization;   // Authorization header
  std::string error_mode;      // X-Centrifugo-Error-Mode header
  std::string content_type;    // Content-Type header (the admin login form)
  std::string if_none_match;   // If-None-Match header (the admin UI's files)
};

struct Response {
  int status = 200;
  std::string content_type;  // "" = no Content-Type header
  std::string body;
  std::string headers;  // extra header lines, each "Name: value\r\n"
};

class HttpApi {
 public:
  explicit HttpApi(node::Node& node);

  // True when `path` is served by the API: exactly `<prefix>` or `<prefix>/<method>` for the
  // 14 OSS routes (api_handler_prefix with trailing '/' trimmed). With the prefix "/" the
  // legacy endpoint catches every path, so this is true for any path; the server should try
  // its other routes first in that case. Anything else gets the router's 404.
  bool matches(const std::string& path) const;
  void handle(Request req, std::function<void(Response)> done);
  // The legacy command stream without the API key check: for /admin/api, which checked the
  // admin token (api::Admin). Same contract as handle().
  void handle_admin(Request req, std::function<void(Response)> done);

  // The effective route prefix ("/api", or "/" when api_handler_prefix trims to empty).
  const std::string& prefix() const { return prefix_; }

 private:
  // "" for the legacy endpoint, a method name ("publish", "batch"...), or nullopt.
  std::optional<std::string_view> route(std::string_view path) const;
  bool authorized(const Request& req) const;
  void handle_method(Method m, const Request& req, bool transport_errors,
                     std::function<void(Response)> done);
  void handle_batch(const Request& req, std::function<void(Response)> done);
  void handle_legacy(Request req, std::function<void(Response)> done);

  node::Node& node_;
  Executor executor_;
  std::string prefix_;
};

}  // namespace gyre::api
