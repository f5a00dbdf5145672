#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
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
#include "core/sharded.h"
#include "engine/engine.h"
#include "hub/hub.h"
#include "metrics/names.h"
#include "metrics/shard_metrics.h"
#include "proxy/http_proxy.h"
#include "node/session_clock.h"
#include "node/timer_wheel.h"
#include "node/user_index.h"

// The node: everything a Gyre process shares between its client sessions — configuration,
// token verifiers, the engine, and one NodeShard (hub + client registry + timer wheel) per
// shard in a Sharded<NodeShard>. It is the engine's event handler: a publication arrives on
// the channel's home shard, is encoded once (hub::Fanout) and handed once to every shard
// (inline to the home shard itself), which fans it out to local subscribers.
//
// Thread affinity: the Node object is shared by all shards and its public methods may be
// called from any shard thread; each NodeShard lives on its shard and is touched only there
// (local(); shard_state(i) is for startup, shutdown and tests). Cross-shard data (user
// connection counts, JWKS waiters) is behind a mutex taken only on connect, disconnect and
// key fetches, never on the delivery path.
namespace gyre::node {

class Client;
class Cluster;

// What a SIGHUP reload replaces: the configuration and the token verifiers built from it.
// Each shard holds its own pointer, swapped on that shard, so readers take no lock.
struct Runtime {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const auth::Verifier> connection_verifier;
  std::shared_ptr<const auth::Verifier> subscription_verifier;
};

// The transports whose fan-out pushes are counted through pre-resolved series (the last
// slot: any other name, looked up per push).
inline constexpr std::string_view kCountedTransports[] = {
    "websocket", "http_stream", "sse", "uni_websocket", "uni_http_stream", "uni_sse"};
inline constexpr size_t kOtherTransport = std::size(kCountedTransports);
size_t transport_slot(std::string_view name);

// One shard's share of the node. Shard-local: touched only by its shard's thread.
struct NodeShard {
  Runtime runtime;
  hub::Hub hub;
  TimerWheel<Client> wheel;
  SessionClock clock;  // "now" of this shard's clients and of its wheel (tests: manual)
  // Registered clients, unordered; each knows its index (Client::registry_index), so
  // registering costs no node allocation per connection.
  std::vector<Client*> clients;
  // User id -> its connections here (a flat table keyed by the client's user id, which does
  // not change while the client is indexed: Node::index_user .. unindex_user).
  FlatUserIndex<Client> users;
  // This shard's metric values (metrics/names.h families); summed over shards on scrape.
  metrics::ShardMetrics metrics{metrics::registry()};
  // centrifugo_transport_messages_sent{,_size} of fan-out pushes, by push kind (publication,
  // join, leave) and transport slot: resolved on first use, so that delivering to each
  // subscriber costs two adds and no lookup.
  struct PushSeries {
    metrics::Series* count = nullptr;
    metrics::Series* bytes = nullptr;
  };
  std::array<std::array<PushSeries, kOtherTransport>, 3> push_series{};
};

class Node final : public engine::EventHandler {
 public:
  static constexpr std::string_view kVersion = "0.1.0";

  Node(ShardSet& shards, engine::Engine& engine, std::shared_ptr<const config::Config> cfg);
  ~Node() override;

  // Starts the per-shard housekeeping tick, which runs the clients due on the shard's timer
  // wheel (pings, pongs, stale and expiry checks).
  void start();

  // The current configuration and verifiers: the calling shard's copy on a shard thread,
  // the node-wide one elsewhere (startup, CLI).
  const Runtime& runtime() const;
  const std::shared_ptr<const config::Config>& config() const { return runtime().config; }
  const auth::Verifier& connection_verifier() const { return *runtime().connection_verifier; }
  const auth::Verifier& subscription_verifier() const {
    return *runtime().subscription_verifier;
  }
  // Builds the verifiers for `cfg`; throws std::runtime_error naming the bad option.
  static Runtime make_runtime(std::shared_ptr<const config::Config> cfg);
  // SIGHUP: installs `next` on every shard (connections stay; later commands see it).
  void reload(Runtime next);

  // JWKS (server-api.md §3.4): fetches the set for `fetch` (single flight per verifier and
  // kid: concurrent requests share one GET), stores it in the verifier's cache, then runs
  // `done` on the calling shard, whatever the outcome.
  using HttpGet = std::function<void(const std::string& url, std::chrono::milliseconds timeout,
                                     std::function<void(int status, std::string body)> done)>;
  void set_http_get(HttpGet get) { http_get_ = std::move(get); }
  void fetch_jwks(std::shared_ptr<const auth::Verifier> verifier, auth::JwksFetch fetch,
                  std::function<void()> done);
  // Proxies (server-api.md §4): POSTs a proxy request through the calling shard's HTTP
  // client; the callback runs later on the same shard. Unset (unit tests): every call fails
  // as a transport failure.
  void set_http_post(proxy::HttpPost post) { http_post_ = std::move(post); }
  void http_post(proxy::HttpRequest req, std::function<void(proxy::HttpResponse)> done);
  engine::Engine& engine() { return engine_; }
  ShardSet& shards() { return shards_; }
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  int64_t uptime_seconds() const;

  // The calling shard's metric values; null outside the shard threads (CLI, unit tests
  // driving a client off-shard), where nothing is counted.
  metrics::ShardMetrics* metrics() {
    NodeShard* st = state_.local_if_any();
    return st != nullptr ? &st->metrics : nullptr;
  }
  // Every shard's metric values merged, with the node gauges (clients, users, subscriptions,
  // channels, nodes, build) and Gyre's shard count set; `done` runs on the calling shard.
  void collect_metrics(std::function<void(metrics::Snapshot)> done);

  // The calling shard's state (shard threads only).
  NodeShard& local() { return state_.local(); }
  // Shard i's state: startup, shutdown and tests; at run time only shard i may touch it.
  NodeShard& shard_state(unsigned i) { return state_.at(i); }
  // The per-shard states, to run work on other shards (invoke_on, map_reduce...).
  Sharded<NodeShard>& sharded() { return state_; }

  // --- client registry (called by Client on its own shard)
  void register_client(Client* c);
  void unregister_client(Client* c);
  // Counts one connection of `user` unless `limit` connections exist already on this node
  // (client_user_connection_limit > 0; the anonymous user is not limited): only used while a
  // limit is set, so that an idle connection holds no node-wide count entry otherwise.
  // Released with release_user.
  bool acquire_user(const std::string& user, int64_t limit);
  void release_user(const std::string& user);
  // The shard's user index (NodeShard::users), from authentication to cleanup. The node's
  // user count (stats(), the node_num_users gauge) is the distinct keys of these indexes.
  void index_user(Client* c);
  void unindex_user(Client* c);
  size_t num_clients() const { return num_clients_.load(std::memory_order_relaxed); }

  // This node's counts as API `info` and the cluster's node info report them: channels
  // counted once however many shards hold subscribers. `done` runs on the calling shard.
  struct Stats {
    uint64_t num_clients = 0;
    uint64_t num_users = 0;
    uint64_t num_channels = 0;
    uint64_t num_subs = 0;
  };
  void stats(std::function<void(Stats)> done);
  // Subscribers per channel on this node (channels with at least one), summed over the
  // shards; `done` runs on the calling shard.
  void channel_counts(std::function<void(std::map<std::string, uint64_t>)> done);

  // Node-to-node control (node/cluster.h): set when the engine is shared by several nodes
  // (supports_control), null with the memory engine.
  Cluster* cluster() { return cluster_.get(); }

  // --- engine::EventHandler (called on the channel's home shard)
  void handle_publication(const std::string& channel,
                          std::shared_ptr<const protocol::Publication> pub, bool delta,
                          std::shared_ptr<const protocol::Publication> prev) override;
  void handle_join(const std::string& channel, const protocol::ClientInfo& info) override;
  void handle_leave(const std::string& channel, const protocol::ClientInfo& info) override;
  void handle_control(std::string data) override;

  // Runs `op` on every shard (on that shard's thread; the calling shard's inline), then
  // `done` on the calling shard (inline when every part ran inline, i.e. with one shard).
  void for_each_shard(std::function<void(NodeShard&)> op, std::function<void()> done);
  // Runs `act` on every live connection of `user` (filtered by client and session when
  // given) on every shard, then `done` on the calling shard. Matches are collected before
  // acting: a disconnect removes the client from the shard's user index.
  void for_each_connection(std::string user, std::string client, std::string session,
                           std::function<void(Client&)> act, std::function<void()> done);

  // Graceful stop: new connections are refused, every client gets 3001 shutdown. `done`
  // runs on the calling shard after every shard has disconnected its clients.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_.load(std::memory_order_acquire); }

 private:
  void fan_out(std::shared_ptr<const hub::Fanout> f);
  struct Ticker;
  // Schedules the calling shard's next tick; tick() advances its timer wheel.
  void arm(Ticker& t);
  void tick();

  ShardSet& shards_;
  engine::Engine& engine_;
  Runtime runtime_;  // node-wide copy; written by reload() before the shards get theirs
  HttpGet http_get_;
  proxy::HttpPost http_post_;
  void jwks_attempt(std::shared_ptr<const auth::Verifier> verifier, auth::JwksFetch fetch,
                    int attempts_left);
  std::mutex jwks_mu_;
  std::map<std::pair<const auth::Verifier*, std::string>,
           std::vector<std::pair<unsigned, std::function<void()>>>>
      jwks_waiting_;
  std::string id_;
  std::string name_;
  clock::TimePoint started_at_;
  Sharded<NodeShard> state_;
  Sharded<Ticker> tickers_;
  std::atomic<size_t> num_clients_{0};
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<Cluster> cluster_;
  // Distinct users in a shard's user index; with `names`, also appends their ids.
  static size_t shard_users(const NodeShard& st, std::vector<std::string>* names);

  mutable std::mutex users_mu_;  // guards user_counts_ (connect/disconnect only)
  // Connections per user, only while client_user_connection_limit is set (acquire_user).
  std::unordered_map<std::string, int64_t> user_counts_;
};

}  // namespace gyre::node
