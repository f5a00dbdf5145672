#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/redis/redis_connection.h"

// Redis Cluster support for the Redis engine: the key slot of a key (CRC16/XMODEM mod 16384
// of the key or of its {hash tag}), and a slot-aware client.
namespace gyre::engine::redis {

inline constexpr int kClusterSlots = 16384;

// The cluster slot of `key` as Redis computes it (CLUSTER KEYSLOT). Pure.
int key_slot(std::string_view key);

// The key a command is routed by: the first key of EVAL/EVALSHA, else argv[1]. Pure.
std::string_view routing_key(const std::vector<std::string>& argv);

// A slot-aware client of one Redis Cluster on one shard thread: a Connection per cluster
// node (opened on first use), a slot map from CLUSTER SLOTS (asked from the seeds or any
// known node), commands routed by the slot of their routing key. MOVED updates the slot and
// refreshes the map, ASK is followed once with ASKING, both re-sent (at most 5 redirects); a
// failed node connection, CLUSTERDOWN and TRYAGAIN refresh the map, and so does a timer
// (every `refresh_interval`, default 10 s as go-redis's lazy reload; Centrifugo v5.4.9's
// rueidis v1.0.51 client refreshes on errors only). Connections to nodes that no longer serve
// a slot (a failed master, a replica that answered CLUSTER SLOTS) are closed after a refresh.
// Before the first map arrives commands go to a seed and follow MOVED.
//
// Thread affinity: shard-local (one shard's io_context); handlers run there, never inline.
class ClusterClient : public std::enable_shared_from_this<ClusterClient> {
 public:
  // `base`: credentials, client name and timeouts for every node connection (db is 0).
  ClusterClient(boost::asio::io_context& io, ConnectionOptions base, std::vector<Endpoint> seeds,
                std::string name,
                std::chrono::milliseconds refresh_interval = kDefaultRefreshInterval);

  static constexpr std::chrono::milliseconds kDefaultRefreshInterval{10000};

  void start();
  void stop();
  void command(std::vector<std::string> argv, Connection::Handler done);

  // For health: a slot map is known and the connections to the nodes serving it are up.
  bool ready() const;

  // Slot maps applied so far (for tests).
  uint64_t refreshes() const { return refreshes_; }
  // Node connections open (for tests).
  size_t connections() const { return nodes_.size(); }

  // The node serving `slot` in the current map ("" while unknown; for tests and logs).
  const std::string& node_of(int slot) const { return slots_[static_cast<size_t>(slot)]; }

 private:
  void send(int slot, std::vector<std::string> argv, Connection::Handler done, int redirects,
            const std::string& node, bool asking);
  std::shared_ptr<Connection> connection(const std::string& node);
  void refresh();
  bool apply_slots(const Reply& r, const std::string& from);
  void arm_periodic_refresh();
  // Closes connections to nodes that serve no slot in the current map.
  void prune();

  boost::asio::io_context& io_;
  ConnectionOptions base_;
  std::vector<std::string> seeds_;  // "host:port"
  std::string name_;
  std::unordered_map<std::string, std::shared_ptr<Connection>> nodes_;  // by "host:port"
  std::vector<std::string> slots_;  // slot -> "host:port", "" = unknown
  std::unordered_set<std::string> serving_;  // the nodes of slots_
  bool complete_ = false;                    // every slot of slots_ has a node
  size_t next_candidate_ = 0;
  bool refreshing_ = false;
  bool refresh_again_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds refresh_interval_;
  boost::asio::steady_timer refresh_timer_;
  uint64_t refreshes_ = 0;
};

}  // namespace gyre::engine::redis
