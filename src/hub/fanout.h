#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/types.h"

// One message for every subscriber of a channel on this node, encoded once. Built on the
// channel's home shard and handed (as shared_ptr<const Fanout>) once to every shard, which
// writes the same bytes to all its local subscribers. Immutable: thread-safe.
namespace gyre::hub {

struct Fanout {
  enum class Kind : uint8_t { kPublication, kJoin, kLeave };

  // Per-shard transport state, touched only by its own shard's thread: the framed bytes
  // (built once per shard) and a non-atomic count of queued writes that reference them.
  // While writes are pending the slot keeps the Fanout alive with one shared_ptr.
  struct alignas(64) ShardSlot {
    std::shared_ptr<const Fanout> keep;
    uint32_t refs = 0;
    std::string ws_frame;     // WebSocket text frame: header + json
    std::string ws_pb_frame;  // WebSocket binary frame: header + varint length + Protobuf
    // Delta-negotiated subscriptions (client-protocol.md §9): JSON with data as a string (full
    // payload, or the patch), Protobuf with the patch.
    std::string ws_delta_full;
    std::string ws_delta_patch;
    std::string ws_pb_patch;
    // Unidirectional WebSocket: text frame of the bare Push (no Reply wrapper).
    std::string ws_uni_frame;
    // permessage-deflate variants of ws_frame .. ws_uni_frame, in that order (Deflated), each
    // compressed once per shard on first use. Allocated only when a compressing connection
    // receives the message, so the uncompressed path pays one pointer per slot.
    enum Deflated : uint8_t { kZFrame, kZPbFrame, kZDeltaFull, kZDeltaPatch, kZPbPatch, kZUni };
    static constexpr size_t kNumDeflated = kZUni + 1;
    std::unique_ptr<std::array<std::string, kNumDeflated>> deflated;
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

  // Slot of shard `i` (0 when out of range, e.g. outside a shard thread).
  ShardSlot& slot(unsigned i) const { return slots[i < num_slots ? i : 0]; }
  std::unique_ptr<ShardSlot[]> slots;
  unsigned num_slots = 0;
};

// `num_shards`: how many shards will deliver it (one ShardSlot each).
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
