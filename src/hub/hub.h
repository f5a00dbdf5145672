#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/fanout.h"

// Per-shard subscription index: channel -> local subscribers. Each Hub lives in its shard's
// node::NodeShard and is used only on that shard's thread (no locks); other shards reach it
// through Node (Sharded<NodeShard>::invoke_on), never directly.
namespace gyre::hub {

// Something that receives a channel's fan-out on this shard (a client's subscription).
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void deliver(const std::shared_ptr<const Fanout>& f) = 0;
  // A broadcast delivers to thousands of subscribers whose objects are cold in the cache; it
  // announces each subscriber a few deliveries ahead, once per stage (0, 1, 2), so that the
  // memory deliver() will touch is fetched meanwhile: at stage k a subscriber prefetches what
  // it can reach through memory prefetched at stage k - 1 (stage 0: its own object is in
  // cache). Only a hint: must not change any state.
  virtual void prefetch(unsigned /*stage*/) const {}
};

class Hub {
 public:
  // Returns true when `s` is the first subscriber of `channel` on this shard.
  bool add(const std::string& channel, Subscriber* s);
  // Returns true when `channel` has no subscriber left on this shard. Safe to call from
  // inside deliver() during a broadcast.
  bool remove(const std::string& channel, Subscriber* s);
  // Delivers `f` to every subscriber of f->channel present when the call starts. Re-entrant:
  // a deliver() may add or remove subscribers and even broadcast again (engine work on this
  // shard runs inline); entries are compacted or erased only when the outermost broadcast
  // of the channel ends. Returns whether the channel had subscribers on this shard.
  bool broadcast(const std::shared_ptr<const Fanout>& f);

  size_t num_channels() const { return channels_.size(); }
  size_t num_subscriptions() const { return num_subscriptions_; }
  size_t num_subscribers(const std::string& channel) const;
  template <typename F>
  void for_each_channel(F&& fn) const {
    for (const auto& [name, entry] : channels_) {
      fn(name, entry.live);
    }
  }

 private:
  struct Entry {
    std::vector<Subscriber*> subs;  // null slots while a broadcast iterates
    size_t live = 0;
    uint32_t iterating = 0;  // broadcasts of this channel in progress (nested when > 1)
    bool has_holes = false;
  };
  std::unordered_map<std::string, Entry> channels_;
  size_t num_subscriptions_ = 0;
};

}  // namespace gyre::hub
