#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "api/admin.h"
#include "api/http_api.h"
#include "core/shard.h"
#include "core/sharded.h"
#include "node/node.h"

// HTTP listeners (Beast): real-time transport endpoints, the server API and /health, split
// between the external and the internal port as Centrifugo does (reference.md §8.2).
// Accepting runs on shard 0; each accepted connection is handed round-robin to a shard and
// lives there for good. Thread-safe public methods.
namespace gyre::tls {
class ServerTlsContext;
}

namespace gyre::server {

struct Routes {
  bool transports = false;
  bool api = false;
  bool health = false;  // the internal endpoints: health and Prometheus metrics
  bool admin = false;   // the admin web UI and its endpoints (api/admin.h)
};

struct HttpShard;  // one shard's deadline wheel and origin globs (http_server.cc)

class HttpServer {
 public:
  HttpServer(ShardSet& shards, node::Node& node, api::HttpApi& api);
  ~HttpServer();

  // Binds address:port serving `routes`, over TLS when `tls` is set. Throws
  // std::runtime_error on bind failure.
  void listen(const std::string& address, const std::string& port, Routes routes,
              std::shared_ptr<const tls::ServerTlsContext> tls = nullptr);
  // Stops accepting on every listener (connections already open are not touched).
  void stop_accepting();
  // Open HTTP/WebSocket connections (all shards).
  static size_t open_connections();
  // WebSocket upgrades whose 101 response is being written: not yet a WebSocketSession, but
  // the client may already consider itself connected, so shutdown waits for them too.
  static size_t pending_upgrades();

 private:
  struct Listener;
  void accept(Listener* l);

  ShardSet& shards_;
  node::Node& node_;
  api::HttpApi& api_;
  std::unique_ptr<api::Admin> admin_;  // null unless `admin` is on
  std::vector<std::unique_ptr<Listener>> listeners_;
  Sharded<HttpShard> shard_state_;  // each shard's deadline wheel and origin globs
  std::atomic<unsigned> next_shard_{0};
};

}  // namespace gyre::server
