#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

// Shards: one event loop (io_context) per thread. A connection lives on one shard for life;
// all shard-local state (hub, memory-engine streams homed here, client registry) is touched
// only from its thread, so it needs no locks. Per-shard services are reached through
// Sharded<T> (core/sharded.h), which runs work inline when already on the target shard and
// posts to it otherwise; Shard::post is the raw primitive underneath.
//
// Thread affinity: a Shard's io() belongs to its thread (run() there); post() and id() may be
// called from any thread. Shard::current() reads the calling thread's shard.
namespace gyre {

class Shard {
  // io_context with execution_context::shutdown() made callable: it destroys every queued
  // handler (and shuts the services down) while the object itself stays alive.
  class Loop : public boost::asio::io_context {
   public:
    explicit Loop(int concurrency_hint) : io_context(concurrency_hint) {}
    using boost::asio::execution_context::shutdown;
  };

 public:
  explicit Shard(unsigned id) : id_(id), io_(1) {}
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  unsigned id() const { return id_; }
  boost::asio::io_context& io() { return io_; }

  // Runs `f` on this shard's thread, after the handlers already queued there (FIFO from
  // any one posting thread). Thread-safe.
  template <typename F>
  void post(F&& f) {
    boost::asio::post(io_, std::forward<F>(f));
  }

  // The shard whose thread is running, or null outside shard threads.
  static Shard* current() { return current_; }
  static void set_current(Shard* s) { current_ = s; }

  // Destroys the handlers still queued on this (stopped) loop. Idempotent. See
  // ShardSet::discard_pending().
  void discard_pending() { io_.shutdown(); }

 private:
  unsigned id_;
  Loop io_;
  // inline: read directly in every TU, not through GCC's TLS wrapper function (which
  // UBSan's null check misreported as a null load when the variable lived in shard.cc).
  static inline thread_local Shard* current_ = nullptr;
};

// The fixed set of shards of this process. Immutable after construction: thread-safe.
class ShardSet {
 public:
  explicit ShardSet(unsigned count);
  // Discards pending handlers first (discard_pending), then destroys the loops.
  ~ShardSet();
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  Shard& at(unsigned i) { return *shards_[i]; }
  // Home shard of a channel: owns its memory-engine stream and presence.
  Shard& home(std::string_view channel) { return *shards_[home_index(channel)]; }
  unsigned home_index(std::string_view channel) const;

  // Once every loop has stopped and its thread returned: destroys the handlers still queued
  // on every loop while all loops (and whatever the caller still owns: node, engine,
  // servers) are alive. A handler queued on one shard may own an object bound to another
  // shard's loop (a session whose socket is registered with shard 0, captured by a callback
  // posted to shard 1): destroying loop 0 before shard 1's queue is emptied would free
  // the reactor that object deregisters from. Idempotent.
  void discard_pending();

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace gyre
