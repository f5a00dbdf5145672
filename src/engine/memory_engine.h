#pragma once

#include <memory>
#include <vector>

#include "core/shard.h"
#include "engine/engine.h"
#include "engine/memory_streams.h"

// The memory engine (reference.md §6.1): single node; each channel's history stream,
// presence and idempotency cache live on its home shard (ShardSet::home). Operations post to
// the home shard and post the result back to the calling shard. Thread-safe entry points;
// per-shard state is shard-local.
namespace gyre::engine {

class MemoryEngine final : public Engine {
 public:
  explicit MemoryEngine(ShardSet& shards);
  ~MemoryEngine() override;

  // Starts the per-shard expiry timers. Call once before the shards run.
  void start();
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

 private:
  struct ShardState;
  // Runs `op` on the home shard of `channel`, then `done(result)` on the calling shard.
  template <typename T, typename Op>
  void on_home(const std::string& channel, Op op, Callback<T> done);

  ShardSet& shards_;
  EventHandler* handler_ = nullptr;
  std::vector<std::unique_ptr<ShardState>> state_;
};

}  // namespace gyre::engine
