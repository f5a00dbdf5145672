#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "core/shard.h"
#include "core/sharded.h"
#include "engine/engine.h"
#include "engine/memory_streams.h"

// The memory engine (reference.md §6.1): single node; each channel's history stream,
// presence and idempotency cache live on its home shard (ShardSet::home) in a
// Sharded<ShardState>.
//
// Thread affinity: the engine object is shared; its Engine methods may be called from any
// shard thread (or, at startup and in tests, from outside the shards). Each operation runs
// on the channel's home shard — inline when that is the calling shard — and its callback on
// the calling shard as engine.h says: publish answers inline when the caller is on the home
// shard (with one shard a publish posts nothing), every other method answers after the
// current handler. publish_join/publish_leave are always queued on the home shard: they are
// fired from inside subscription changes and must not enter the hub while the caller is
// updating it.
namespace gyre::engine {

class MemoryEngine final : public Engine {
 public:
  explicit MemoryEngine(ShardSet& shards);
  ~MemoryEngine() override;

  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;

  // Starts the per-shard expiry timers. Call once before the shards run.
  void start();
  void stop();
  // Replaces the time source of TTLs and expiry (steady_clock::now by default). Tests only;
  // call before the shards run. The clock is read on every shard thread.
  void set_clock(Clock clock) { clock_ = std::move(clock); }
  // Drops expired history on every shard now (what the 1 s timer does), then `done` on the
  // calling shard.
  void expire(std::function<void()> done);

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

 private:
  struct ShardState;
  // Schedules the calling shard's next expiry sweep.
  void arm(ShardState& st);
  // How the answer of an operation run on the caller's own shard is delivered.
  enum class Answer {
    kInline,  // at once, before the method returns (publish: nothing is posted)
    kLater,   // after the current handler (every other method, engine.h contract)
  };
  // Runs `op` on the home shard of `channel` (inline when that is the calling shard), then
  // `done(result)` on the calling shard as `answer` says.
  template <typename T, typename Op>
  void on_home(const std::string& channel, Op op, Callback<T> done, Answer answer);

  TimePoint now() const { return clock_(); }

  ShardSet& shards_;
  EventHandler* handler_ = nullptr;
  Clock clock_ = [] { return std::chrono::steady_clock::now(); };
  Sharded<ShardState> state_;
};

}  // namespace gyre::engine
