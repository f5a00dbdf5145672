#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/shard.h"
#include "core/sharded.h"
#include "engine/engine.h"
#include "engine/redis/redis_codec.h"
#include "engine/redis/redis_connection.h"
#include "engine/redis/redis_scripts.h"

// The Redis engine (reference.md §6.2) on one standalone Redis, wire-compatible with
// Centrifugo v5.4.9: history in streams, presence in hash + zset, PUB/SUB on P.client.<ch>.
//
// Connections: every shard has its own command connection (Sharded<ShardState>); an
// operation runs on the calling shard's connection and its callback there, so no result
// crosses threads. Commands of one shard are pipelined (one write carries everything queued
// while the previous write was in flight). Shard 0 also holds the one PUB/SUB connection: it
// subscribes P.client.<ch> on the node's first local subscription of a channel and
// unsubscribes after the last (other shards post their counts to it), batches SUBSCRIBE
// commands (up to 512 channels each), resubscribes everything after a reconnect, and hands
// each message, decoded once, to the EventHandler on shard 0, whose fan-out posts it to
// every shard.
//
// Not yet (TODO(#12)): several addresses (client-side sharding by jump hash of
// FNV-1a-64(channel)), Sentinel, Cluster, TLS, RESP3, redis_use_lists, the presence user
// mapping, node-to-node control over P.control; a deadline for a SUBSCRIBE that Redis
// accepts but never confirms (the PUB/SUB connection has no reply to time out).
//
// Thread affinity: the engine object is shared; Engine methods may be called from any shard
// thread (outside the shards they run on shard 0 and answer there). Callbacks run later on
// the calling shard, never inline.
namespace gyre::engine::redis {

struct RedisEngineOptions {
  ConnectionOptions connection;
  std::string prefix = "centrifugo";
  std::chrono::seconds presence_ttl{60};
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
  void remove_presence(std::string channel, std::string client_id,
                       Callback<bool> done) override;
  void presence(std::string channel,
                Callback<std::vector<std::pair<std::string, ClientInfo>>> done) override;
  void presence_stats(std::string channel, Callback<PresenceStats> done) override;

  bool tracks_subscriptions() const override { return true; }
  void subscribe(std::string channel, Callback<bool> done) override;
  void unsubscribe(std::string channel) override;
  // Healthy while shard 0's command connection and the PUB/SUB connection are up.
  void check_health(std::function<void(bool)> done) override;

  // Handles one PUB/SUB "message" body of `pubsub_channel` (shard 0; public for tests).
  // Returns false for a malformed message (logged, dropped).
  bool handle_message(std::string_view pubsub_channel, std::string_view data);

 private:
  struct Subscription {
    int64_t refs = 0;
    bool sent = false;       // a SUBSCRIBE for it is queued or on the wire
    bool confirmed = false;  // Redis acknowledged the SUBSCRIBE on the current connection
    std::vector<std::pair<Shard*, Callback<bool>>> waiters;
  };
  struct PubSub {
    std::shared_ptr<Connection> conn;
    std::unordered_map<std::string, Subscription> channels;  // by Gyre channel name
    // Confirmations still due for SUBSCRIBEs of entries erased before theirs came: they
    // must not confirm a newer entry of the same channel (its own SUBSCRIBE is behind the
    // UNSUBSCRIBE).
    std::unordered_map<std::string, int> stale_confirmations;
    // (subscribe?, P.client.<ch>) in call order, sent by the next flush.
    std::vector<std::pair<bool, std::string>> ops;
    bool flush_posted = false;
  };
  struct ShardState {
    std::shared_ptr<Connection> conn;
    std::unique_ptr<PubSub> pubsub;  // shard 0 only
  };

  using ReplyCallback = std::function<void(std::expected<Reply, std::string>)>;
  // Runs argv on the calling shard's connection (shard 0's outside the shards).
  void run(std::vector<std::string> argv, ReplyCallback done);
  // EVALSHA, then EVAL after a NOSCRIPT reply (which also loads the script).
  void eval(ScriptCall call, ReplyCallback done);

  // Shard 0: PUB/SUB bookkeeping.
  void pubsub_subscribe(PubSub& ps, const std::string& channel, Shard* origin,
                        Callback<bool> done);
  void pubsub_unsubscribe(PubSub& ps, const std::string& channel);
  void pubsub_flush_later(PubSub& ps);
  void pubsub_flush(PubSub& ps);
  void pubsub_ready(PubSub& ps);
  void pubsub_lost(PubSub& ps);
  void on_push(PubSub& ps, const Reply& r);

  ShardSet& shards_;
  RedisEngineOptions opts_;
  RedisKeys keys_;
  EventHandler* handler_ = nullptr;
  Sharded<ShardState> state_;
};

}  // namespace gyre::engine::redis
