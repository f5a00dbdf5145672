#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_api.h"

namespace gyre::node {
class Node;
}

// The admin web UI and its endpoints, as Centrifugo v5.4.9's internal/admin (reference.md
// §8.5), under `admin_handler_prefix` (trailing '/' trimmed):
//   <prefix>/admin/settings  any method: {"insecure":<admin_insecure>,"edition":"oss"}
//   <prefix>/admin/auth      POST, form or query field `password` -> {"token":"..."}; 400
//                            "Bad Request" for a wrong password or when admin_password or
//                            admin_secret is unset; 405 for other methods
//   <prefix>/admin/api       POST, the legacy server API command stream (HttpApi) behind
//                            `Authorization: token <t>` or `?token=<t>`; 401 without a valid
//                            token (no check with admin_insecure); 405 for other methods
//   <prefix>/admin/connection/websocket
//                            Gyre: the live tail WebSocket (the HTTP server upgrades it after
//                            tail_authorized(); see docs/operations.md)
//   <prefix>/...             the page's static files, embedded at build time (web/admin/)
// Tokens have gorilla/securecookie's format (name "token", value "authorized", HMAC-SHA256
// with admin_secret, 30 days), so Gyre and Centrifugo nodes sharing admin_secret accept
// each other's tokens. Immutable after construction (config is read per request through the
// node); handle() runs on a shard thread and `done` runs once, on that shard.
namespace gyre::api {

// A file of the embedded web UI (generated admin_assets.cc).
struct AdminAsset {
  std::string_view name;  // path under the prefix, e.g. "index.html"
  std::string_view data;
};
std::span<const AdminAsset> admin_assets();

// securecookie-compatible admin token for `secret`, stamped `unix_now`.
std::string make_admin_token(std::string_view secret, int64_t unix_now);
// Whether `token` was made by make_admin_token (or Centrifugo) with `secret` and is at most
// 30 days old at `unix_now`.
bool check_admin_token(std::string_view secret, std::string_view token, int64_t unix_now);

class Admin {
 public:
  enum class Route { kNone, kSettings, kAuth, kApi, kTail, kFile };

  Admin(node::Node& node, HttpApi& api);

  // Which admin route `path` (no query) is; kNone outside the prefix. Every path under the
  // prefix is the admin's (unknown files get 404), as Centrifugo's `<prefix>/` mux entry.
  Route route(std::string_view path) const;
  // Any route but the tail (the HTTP server upgrades that one itself).
  void handle(Route route, Request req, std::function<void(Response)> done) const;
  // The admin token check of /admin/api (Authorization or `token` query parameter), for the
  // live tail upgrade too. Always true with admin_insecure.
  bool authorized(std::string_view authorization, std::string_view query) const;

 private:
  struct File {
    std::string name;
    std::string_view data;
    std::string content_type;
    std::string etag;
  };
  void serve_file(std::string_view rel, const Request& req,
                  const std::function<void(Response)>& done) const;
  void auth(const Request& req, const std::function<void(Response)>& done) const;

  node::Node& node_;
  HttpApi& api_;
  std::string prefix_;  // trailing '/' trimmed; "" = the root
  std::vector<File> files_;
};

}  // namespace gyre::api
