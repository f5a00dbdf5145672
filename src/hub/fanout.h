#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/types.h"

// One message for every subscriber of a channel on this node, encoded once. Built on the
// channel's home shard and handed (as shared_ptr<const Fanout>) once to every shard, which
// writes the same bytes to all its local subscribers. Immutable and thread-safe, except the
// per-shard cache slots (slot i belongs to shard i's thread) and the atomic delivery
// bookkeeping of a publication (`broadcast`).
namespace gyre::hub {

struct Fanout {
  enum class Kind : uint8_t { kPublication, kJoin, kLeave };

  // Opaque per-shard state a transport attaches to this message (transport/shared_frames.h:
  // the bytes framed once per shard). The hub never looks inside. Slot i is created and
  // touched only by shard i's thread.
  class ShardCache {
   public:
    virtual ~ShardCache() = default;
  };

  // Which encoding of the message a subscriber needs.
  enum class Form : uint8_t { kPlain, kDeltaFull, kDeltaPatch };

  Kind kind = Kind::kPublication;
  std::string channel;
  std::shared_ptr<const protocol::Publication> pub;  // kPublication
  protocol::ClientInfo info;                         // kJoin, kLeave
  bool delta = false;
  // False when the payload is not valid JSON: JSON connections cannot receive it and are
  // closed with 3506 (client-protocol.md §2.2).
  bool json_compatible = true;
  // The bidirectional JSON push (Reply{push}), unframed.
  std::string json;
  // Fossil delta from the stream's previous publication (offset - 1) to this one, when the
  // publication was published with delta and the patch is shorter than the payload; else empty.
  std::string patch;

  // Cache slot of shard `i` (0 when out of range, e.g. outside a shard thread); empty until
  // a transport on that shard fills it.
  std::unique_ptr<ShardCache>& cache(unsigned i) const {
    return i == 0 || i >= num_slots ? slot0 : more_slots[i - 1];
  }
  // Shard 0's slot is inline: with one shard (gomaxprocs: 1) a Fanout is one allocation, no
  // slot array. Slots 1.. are an array.
  mutable std::unique_ptr<ShardCache> slot0;
  std::unique_ptr<std::unique_ptr<ShardCache>[]> more_slots;
  unsigned num_slots = 0;

  // A publication's delivery over all shards (node::Node::fan_out), so that
  // centrifugo_node_broadcast_duration_seconds is observed once per publication per node, as
  // centrifuge's hub does: when the fan-out began (the Fanout was built), how many of the
  // `num_slots` shards have not finished their part, and whether any had subscribers. The
  // shard that finishes last observes; no shard waits for another.
  struct Broadcast {
    std::chrono::steady_clock::time_point started{};
    mutable std::atomic<unsigned> pending{0};
    mutable std::atomic<bool> delivered{false};
  };
  Broadcast broadcast;
};

// `num_shards`: how many shards will deliver it (one cache slot each).
std::shared_ptr<const Fanout> make_publication_fanout(const std::string& channel,
                                                      std::shared_ptr<const protocol::Publication> pub,
                                                      bool delta, unsigned num_shards = 1,
                                                      std::shared_ptr<const protocol::Publication> prev = nullptr);
std::shared_ptr<const Fanout> make_join_fanout(const std::string& channel,
                                               const protocol::ClientInfo& info,
                                               unsigned num_shards = 1);
std::shared_ptr<const Fanout> make_leave_fanout(const std::string& channel,
                                                const protocol::ClientInfo& info,
                                                unsigned num_shards = 1);

}  // namespace gyre::hub
