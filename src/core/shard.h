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
// only from its thread, so it needs no locks. To cross shards, post to the target shard.
namespace gyre {

class Shard {
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

 private:
  unsigned id_;
  boost::asio::io_context io_;
  static thread_local Shard* current_;
};

// The fixed set of shards of this process. Immutable after construction: thread-safe.
class ShardSet {
 public:
  explicit ShardSet(unsigned count);

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  Shard& at(unsigned i) { return *shards_[i]; }
  // Home shard of a channel: owns its memory-engine stream and presence.
  Shard& home(std::string_view channel) { return *shards_[home_index(channel)]; }
  unsigned home_index(std::string_view channel) const;

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace gyre
