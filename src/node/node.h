#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/jwt.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/shard.h"
#include "engine/engine.h"
#include "hub/hub.h"
#include "node/timer_wheel.h"

// The node: everything a Gyre process shares between its client sessions — configuration,
// token verifiers, the engine, and one ShardState (hub + client registry) per shard. It is
// the engine's event handler: a publication arrives on the channel's home shard, is encoded
// once (hub::Fanout) and posted once to every shard, which fans it out to local subscribers.
//
// Thread-safety: the Node object is shared by all shards. Per-shard state is shard-local.
// Cross-shard data (user connection counts) is behind one mutex, taken only on connect and
// disconnect, never on the delivery path.
namespace gyre::node {

class Client;

struct NodeShard {
  hub::Hub hub;
  TimerWheel<Client> wheel;
  std::unordered_set<Client*> clients;
  std::unordered_multimap<std::string, Client*> users;  // user id -> its connections here
};

class Node final : public engine::EventHandler {
 public:
  static constexpr std::string_view kVersion = "0.1.0";

  Node(ShardSet& shards, engine::Engine& engine, std::shared_ptr<const config::Config> cfg);
  ~Node() override;

  // Starts the per-shard housekeeping tick, which runs the clients due on the shard's timer
  // wheel (pings, pongs, stale and expiry checks).
  void start();

  const std::shared_ptr<const config::Config>& config() const { return config_; }
  const auth::Verifier& connection_verifier() const { return *conn_verifier_; }
  const auth::Verifier& subscription_verifier() const { return *sub_verifier_; }
  engine::Engine& engine() { return engine_; }
  ShardSet& shards() { return shards_; }
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  int64_t uptime_seconds() const;

  NodeShard& local() { return *shard_state_[Shard::current()->id()]; }
  NodeShard& shard_state(unsigned i) { return *shard_state_[i]; }

  // --- client registry (called by Client on its own shard)
  void register_client(Client* c);
  void unregister_client(Client* c);
  // Adds one connection of `user` unless `limit` (> 0) connections exist already on this
  // node (client_user_connection_limit; the anonymous user is not limited).
  bool acquire_user(const std::string& user, int64_t limit);
  void release_user(const std::string& user);
  void index_user(Client* c);
  void unindex_user(Client* c);
  size_t num_clients() const { return num_clients_.load(std::memory_order_relaxed); }
  size_t num_users() const;

  // --- engine::EventHandler (called on the channel's home shard)
  void handle_publication(const std::string& channel,
                          std::shared_ptr<const protocol::Publication> pub, bool delta,
                          std::shared_ptr<const protocol::Publication> prev) override;
  void handle_join(const std::string& channel, const protocol::ClientInfo& info) override;
  void handle_leave(const std::string& channel, const protocol::ClientInfo& info) override;

  // Runs `op` on every shard (on that shard's thread), then `done` on the calling shard.
  void for_each_shard(std::function<void(NodeShard&)> op, std::function<void()> done);

  // Graceful stop: new connections are refused, every client gets 3001 shutdown. `done`
  // runs on the calling shard after every shard has disconnected its clients.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_.load(std::memory_order_acquire); }

 private:
  void fan_out(std::shared_ptr<const hub::Fanout> f);
  void tick(unsigned shard);

  ShardSet& shards_;
  engine::Engine& engine_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<auth::Verifier> conn_verifier_;
  std::unique_ptr<auth::Verifier> sub_verifier_;
  std::string id_;
  std::string name_;
  clock::TimePoint started_at_;
  std::vector<std::unique_ptr<NodeShard>> shard_state_;
  struct Ticker;
  std::vector<std::unique_ptr<Ticker>> tickers_;
  std::atomic<size_t> num_clients_{0};
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex users_mu_;  // guards user_counts_ (connect/disconnect only)
  std::unordered_map<std::string, int64_t> user_counts_;
};

}  // namespace gyre::node
