#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/shard.h"
#include "core/sharded.h"
#include "engine/engine.h"
#include "engine/redis/redis_cluster.h"
#include "engine/redis/redis_codec.h"
#include "engine/redis/redis_connection.h"
#include "engine/redis/redis_continuity.h"
#include "engine/redis/redis_scripts.h"

// The Redis engine (reference.md §6.2), wire-compatible with Centrifugo v5.4.9: history in
// streams, presence in hash + zset, PUB/SUB on P.client.<ch>.
//
// Redis shards: one or more Redis deployments (standalone addresses, or Sentinel-managed
// masters). With several, a channel's keys (stream, meta, idempotency results, presence) and
// its PUB/SUB channel live on the Redis shard consistent_index(channel, n) picks — the same
// one a Centrifugo node picks (redis_sharding.h).
//
// Connections: every shard thread has its own command connection to every Redis shard
// (Sharded<ShardState>); an operation runs on the calling thread's connection and its
// callback there, so no result crosses threads. Commands of one connection are pipelined
// (one write carries everything queued while the previous write was in flight). Shard 0 also
// holds one PUB/SUB connection per Redis shard: it subscribes P.client.<ch> on the node's
// first local subscription of a channel and unsubscribes after the last (other shards post
// their counts to it), batches SUBSCRIBE commands (up to 512 channels each), resubscribes
// everything after a reconnect, and hands each message, decoded once, to the EventHandler on
// shard 0, whose fan-out posts it to every shard.
//
// Sentinel: connections discover the master before each attempt (redis_connection.h); shard 0
// also watches +switch-master on the Sentinels and resets every connection to a switched
// master.
//
// Redis Cluster: each Redis shard is a cluster; commands go through a ClusterClient per
// shard thread (slot-aware, MOVED/ASK), PUB/SUB through one connection to any node (a
// cluster PUBLISH reaches every node), keys hash-tagged as centrifuge does (RedisKeys).
//
// A SUBSCRIBE that Redis accepts but does not confirm within redis_io_timeout resets the
// PUB/SUB connection (the PUB/SUB connection has no reply to time out otherwise).
//
// redis_use_lists: history in LISTs (P.list.<ch>, P.list.meta.<ch>) as centrifuge's list
// branch, read whole and filtered here; the PUB/SUB messages are the same as with streams.
//
// Not yet (TODO(#12)): RESP3.
//
// Thread affinity: the engine object is shared; Engine methods may be called from any shard
// thread (outside the shards they run on shard 0 and answer there). Callbacks run later on
// the calling shard, never inline.
namespace gyre::engine::redis {

struct RedisEngineOptions {
  // One entry per Redis shard; several = client-side sharding by channel.
  std::vector<ConnectionOptions> shards{ConnectionOptions{}};
  // Every shard is a Redis Cluster whose seeds are its ConnectionOptions::endpoints: keys
  // are hash-tagged, commands routed by slot (ClusterClient).
  bool cluster = false;
  std::string prefix = "centrifugo";
  std::chrono::seconds presence_ttl{60};
  bool use_lists = false;  // redis_use_lists
  // global_redis_presence_user_mapping: per-user zset/hash kept beside the presence, and
  // presence_stats read from them.
  bool presence_user_mapping = false;
};

class RedisEngine final : public Engine {
 public:
  RedisEngine(ShardSet& shards, RedisEngineOptions opts);
  ~RedisEngine() override;

  // Opens every connection (posted to each shard). Call once before the shards run.
  void start();
  // Closes every connection; call on shutdown from any shard (posted to each).
  void stop();

  void set_event_handler(EventHandler* handler) override { handler_ = handler; }

  void publish(std::string channel, Publication pub, PublishOptions opts,
               Callback<StreamPosition> done) override;
  void publish_join(std::string channel, ClientInfo info) override;
  void publish_leave(std::string channel, ClientInfo info) override;
  void history(std::string channel, HistoryFilter filter, Duration meta_ttl,
               Callback<HistoryResult> done) override;
  void remove_history(std::string channel, Callback<bool> done) override;
  void add_presence(std::string channel, std::string client_id, ClientInfo info,
                    Callback<bool> done) override;
  void remove_presence(std::string channel, std::string client_id, std::string user_id,
                       Callback<bool> done) override;
  void presence(std::string channel,
                Callback<std::vector<std::pair<std::string, ClientInfo>>> done) override;
  void presence_stats(std::string channel, Callback<PresenceStats> done) override;

  bool tracks_subscriptions() const override { return true; }
  void subscribe(std::string channel, Callback<bool> done) override;
  void unsubscribe(std::string channel) override;
  // Healthy while shard 0's command connection and the PUB/SUB connection are up.
  void check_health(std::function<void(bool)> done) override;

  // Node-to-node control (centrifuge RedisBroker): the PUB/SUB connection also subscribes
  // P.control and P.node.<node_id> and hands their messages to handle_control on shard 0;
  // publish_control PUBLISHes to one of them. The node's logic is node/cluster.h.
  bool supports_control() const override { return true; }
  void enable_control(std::string node_id) override;
  void publish_control(std::string data, std::string to_node, Callback<bool> done) override;

  // The Redis shard (index into RedisEngineOptions::shards) that holds `channel`.
  size_t redis_shard_of(std::string_view channel) const;

  // Handles one PUB/SUB "message" body of `pubsub_channel` (shard 0; public for tests).
  // Returns false for a malformed message (logged, dropped).
  bool handle_message(std::string_view pubsub_channel, std::string_view data);

 private:
  // history() with redis_use_lists.
  void history_list(std::string channel, HistoryFilter filter, Duration meta_ttl,
                    Callback<HistoryResult> done);
  struct Subscription {
    int64_t refs = 0;
    bool sent = false;       // a SUBSCRIBE for it is queued or on the wire
    bool confirmed = false;  // Redis acknowledged the SUBSCRIBE on the current connection
    std::chrono::steady_clock::time_point sent_at{};  // when `sent` was set
    std::vector<std::pair<Shard*, Callback<bool>>> waiters;
    // From the first publication with an offset (redis_continuity.h).
    std::unique_ptr<StreamContinuity> continuity;
  };
  // The PUB/SUB state of one Redis shard (on shard 0).
  struct PubSub {
    size_t redis_shard = 0;
    std::shared_ptr<Connection> conn;
    std::unordered_map<std::string, Subscription> channels;  // by Gyre channel name
    // Confirmations still due for SUBSCRIBEs of entries erased before theirs came: they
    // must not confirm a newer entry of the same channel (its own SUBSCRIBE is behind the
    // UNSUBSCRIBE).
    std::unordered_map<std::string, int> stale_confirmations;
    // (subscribe?, P.client.<ch>) in call order, sent by the next flush.
    std::vector<std::pair<bool, std::string>> ops;
    bool flush_posted = false;
    // SUBSCRIBE deadline: a SUBSCRIBE not confirmed within io_timeout resets the connection
    // (its waiters fail, the reconnect subscribes again).
    std::unique_ptr<boost::asio::steady_timer> confirm_timer;
    bool confirm_armed = false;
    std::chrono::milliseconds io_timeout{4000};
    // Retry timers of verify_continuity (cancelled by stop()).
    std::vector<std::shared_ptr<boost::asio::steady_timer>> verify_timers;
    bool stopped = false;
  };
  struct ShardState {
    std::vector<std::shared_ptr<Connection>> conns;        // by Redis shard (not cluster)
    std::vector<std::shared_ptr<ClusterClient>> clusters;  // by Redis shard (cluster)
    std::vector<std::unique_ptr<PubSub>> pubsubs;    // by Redis shard; shard 0 only
    // Shard 0 only, by Redis shard (null without Sentinel): a PUB/SUB connection to the
    // Sentinels (in turn) subscribed to +switch-master.
    std::vector<std::shared_ptr<Connection>> sentinel_watchers;
  };

  using ReplyCallback = std::function<void(std::expected<Reply, std::string>)>;
  // Runs argv on the calling shard's connection to Redis shard `rs` (shard 0's outside the
  // shards).
  void run(size_t rs, std::vector<std::string> argv, ReplyCallback done);
  // EVALSHA, then EVAL after a NOSCRIPT reply (which also loads the script).
  void eval(size_t rs, ScriptCall call, ReplyCallback done);

  // Shard 0: PUB/SUB bookkeeping.
  void pubsub_subscribe(PubSub& ps, const std::string& channel, Shard* origin,
                        Callback<bool> done);
  void pubsub_unsubscribe(PubSub& ps, const std::string& channel);
  void pubsub_flush_later(PubSub& ps);
  void pubsub_flush(PubSub& ps);
  void pubsub_ready(PubSub& ps);
  void pubsub_lost(PubSub& ps);
  void pubsub_arm_confirm_deadline(PubSub& ps);
  void pubsub_check_confirmations(PubSub& ps);
  void on_push(PubSub& ps, const Reply& r);
  // handle_message with the continuity check of `ps`'s subscriptions (null: none).
  bool deliver_message(PubSub* ps, std::string_view pubsub_channel, std::string_view data);
  // Shard 0: the continuity check of one publication; false when it is held (or dropped).
  bool check_continuity(PubSub& ps, const std::string& channel, StreamContinuity::Held& h);
  // After a resubscription: holds the channel's publications while the stream is read back;
  // changes the epoch when the last publication seen is no longer there.
  void verify_continuity(PubSub& ps, const std::string& channel, int attempt);
  void change_epoch(PubSub& ps, const std::string& channel, const std::string& old_epoch);
  // Delivers the held publications, relabelled from `old_epoch` to `epoch` when not empty.
  void release_held(PubSub& ps, const std::string& channel, const std::string& old_epoch,
                    const std::string& epoch);
  // A +switch-master of Redis shard `rs`'s master: every connection to it reconnects (and
  // asks the Sentinels again) at once.
  void on_sentinel_push(size_t rs, const Reply& r);

  ShardSet& shards_;
  RedisEngineOptions opts_;
  RedisKeys keys_;
  EventHandler* handler_ = nullptr;
  std::string control_channel_;  // P.control once enable_control() ran, else empty
  std::string node_channel_;     // P.node.<this node's id>
  Sharded<ShardState> state_;
};

}  // namespace gyre::engine::redis
