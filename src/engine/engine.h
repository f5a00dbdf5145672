#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/op_result.h"
#include "protocol/types.h"

// The engine = Broker (PUB/SUB between nodes + history streams + idempotency) and
// PresenceManager (online presence), as in Centrifugo (reference.md §0, §6). The memory
// engine is the first implementation; Redis and NATS come later behind the same interfaces.
//
// Threading contract: every method may be called from any shard thread; its callback runs
// on the *calling* shard's thread. publish's callback runs inline (before publish returns)
// when the caller is on the channel's home shard, so a publish posts nothing there; every
// other callback runs later, never inline, because callers iterate their own state around
// those calls (node::Client::check_positions walks its subscriptions around history()).
namespace gyre::engine {

using protocol::ClientInfo;
using protocol::Publication;
using protocol::StreamPosition;
using Duration = std::chrono::milliseconds;

struct HistoryOptions {
  int64_t size = 0;
  Duration ttl{0};
  Duration meta_ttl{0};
  bool enabled() const { return size > 0 && ttl.count() > 0; }
};

struct PublishOptions {
  HistoryOptions history;
  std::string idempotency_key;
  bool delta = false;
};

struct HistoryFilter {
  std::optional<StreamPosition> since;
  int32_t limit = 0;  // 0: none, -1: all, N: at most N
  bool reverse = false;
};

struct HistoryResult {
  std::vector<std::shared_ptr<const Publication>> publications;
  StreamPosition top;
  // since.epoch was given and differs from top.epoch (-> error 112 / not recovered).
  bool epoch_mismatch = false;
};

struct PresenceStats {
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
};

// Receives what the broker delivers to this node. Called on the channel's home shard
// (memory engine) or on the broker's receiving shard (remote brokers). Must not block.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // `prev`: the stream's previous publication (offset - 1) when known, the base of a delta.
  virtual void handle_publication(const std::string& channel,
                                  std::shared_ptr<const Publication> pub, bool delta,
                                  std::shared_ptr<const Publication> prev) = 0;
  virtual void handle_join(const std::string& channel, const ClientInfo& info) = 0;
  virtual void handle_leave(const std::string& channel, const ClientInfo& info) = 0;
  // A node-to-node control message (protobuf controlpb.Command as centrifuge encodes it),
  // from any node including this one. Remote brokers call it on shard 0. Default: ignored
  // (a single node has no peers).
  virtual void handle_control(std::string data) {}
};

// Operations answer through the one operation shape (core/op_result.h).
template <typename T>
using Callback = OpCallback<T>;

class Engine {
 public:
  virtual ~Engine() = default;

  virtual void set_event_handler(EventHandler* handler) = 0;

  // Publishes; `pub` has no offset yet. The result is the stream position of the new
  // publication ({0, ""} without history). With an idempotency key seen in the last 300 s
  // for this channel, returns the cached position and does not publish again.
  virtual void publish(std::string channel, Publication pub, PublishOptions opts,
                       Callback<StreamPosition> done) = 0;
  virtual void publish_join(std::string channel, ClientInfo info) = 0;
  virtual void publish_leave(std::string channel, ClientInfo info) = 0;

  // Reads history. Reading a channel without a stream creates one (fresh epoch, offset 0)
  // and every read extends the stream's meta TTL.
  virtual void history(std::string channel, HistoryFilter filter, Duration meta_ttl,
                       Callback<HistoryResult> done) = 0;
  // Drops the stored publications; the top offset and epoch are kept.
  virtual void remove_history(std::string channel, Callback<bool> done) = 0;

  virtual void add_presence(std::string channel, std::string client_id, ClientInfo info,
                            Callback<bool> done) = 0;
  // `user_id`: the user of the connection (the Redis engine's per-user presence mapping,
  // global_redis_presence_user_mapping, counts connections per user).
  virtual void remove_presence(std::string channel, std::string client_id, std::string user_id,
                               Callback<bool> done) = 0;
  virtual void presence(std::string channel,
                        Callback<std::vector<std::pair<std::string, ClientInfo>>> done) = 0;
  virtual void presence_stats(std::string channel, Callback<PresenceStats> done) = 0;

  // Remote brokers (Redis) deliver a channel only to nodes that asked for it. When this is
  // true the node calls subscribe() for every local subscription before it reads the stream
  // (so nothing published after the read is missed) and unsubscribe() when it ends; the
  // engine counts them and subscribes on the first, unsubscribes after the last. The memory
  // engine delivers everything locally and answers false.
  virtual bool tracks_subscriptions() const { return false; }
  // `done(true)` once publications of `channel` reach this node (later, on the calling shard);
  // an error when the broker is unreachable. Each call is balanced by one unsubscribe().
  virtual void subscribe(std::string channel, Callback<bool> done) { done(true); }
  virtual void unsubscribe(std::string channel) {}

  // Node-to-node control (centrifuge's Broker.PublishControl): a broker shared by several
  // nodes answers true. enable_control(node_id) must be called once before start(): the
  // engine then listens to the cluster-wide control channel (Redis: P.control) and to this
  // node's own channel (P.node.<node_id>) and hands every message to
  // EventHandler::handle_control. publish_control sends `data` to every node (`to_node`
  // empty, this one included) or to one node; `done` (may be empty) runs later on the
  // calling shard: true, or an error when the broker is unreachable. The memory engine is
  // a single node: no control, publish_control answers true and delivers nothing.
  virtual bool supports_control() const { return false; }
  virtual void enable_control(std::string node_id) {}
  virtual void publish_control(std::string data, std::string to_node, Callback<bool> done) {
    if (done) {
      done(true);
    }
  }

  // For the health endpoint: `done(true)` when the engine's backend is reachable now, on the
  // calling shard (possibly inline). The memory engine has none and is always healthy.
  virtual void check_health(std::function<void(bool)> done) { done(true); }
};

}  // namespace gyre::engine
