#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hub/fanout.h"
#include "protocol/codec.h"

// The transports' per-shard cache of a Fanout's framed bytes (client-protocol.md §2.4, §8):
// each shard frames a push once per protocol and form — server frames are unmasked, so the
// bytes suit every subscriber on the shard — and every subscriber's queue points at them.
// hub::Fanout only carries an opaque per-shard cache slot; what is in it lives here.
//
// Thread affinity: a SharedFrames belongs to one shard of one Fanout and is touched only by
// that shard's thread (the refcount is not atomic). The Fanout itself stays immutable.
namespace gyre::transport {

// Appends `v` as a Protobuf base-128 varint (the length prefix of Protobuf frames and
// streams, client-protocol.md §2.4).
void append_varint(std::string& out, uint64_t v);

// One shard's frames of one Fanout, built on first use, and the count of queued writes that
// reference them. While writes are pending it keeps the Fanout alive with one shared_ptr.
struct SharedFrames final : hub::Fanout::ShardCache {
  std::shared_ptr<const hub::Fanout> keep;
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
  // permessage-deflate variants of ws_frame .. ws_uni_frame, in that order, each compressed
  // once per shard on first use. Allocated only when a compressing connection receives the
  // message, so the uncompressed path pays one pointer.
  enum Deflated : uint8_t { kZFrame, kZPbFrame, kZDeltaFull, kZDeltaPatch, kZPbPatch, kZUni };
  static constexpr size_t kNumDeflated = kZUni + 1;
  std::unique_ptr<std::array<std::string, kNumDeflated>> deflated;

  // Takes one reference for a queued write (the first one keeps `f` alive).
  void acquire(const std::shared_ptr<const hub::Fanout>& f) {
    if (refs++ == 0) {
      keep = f;
    }
  }
  // Drops one reference; the last one may destroy the Fanout and this object with it:
  // nothing may touch it after the call.
  void release() {
    if (--refs == 0) {
      auto last = std::move(keep);
    }
  }
};

// The frames of `f` on shard `shard`, created on first use. Shard-local (shard's thread).
SharedFrames& shared_frames(const hub::Fanout& f, unsigned shard);
// Those frames if shard `shard` built any yet, else null.
const SharedFrames* find_shared_frames(const hub::Fanout& f, unsigned shard);

// The WebSocket frame of a Fanout for one protocol and form, built once in shard `shard`'s
// cache: JSON text frame of the message; Protobuf binary frame of varint length + message;
// `uni` = JSON text frame of the bare Push (unidirectional). The returned string lives as
// long as `f`. Shard-local.
const std::string& shared_ws_frame(const hub::Fanout& f, unsigned shard,
                                   protocol::ProtocolType protocol, hub::Fanout::Form form,
                                   bool uni);
// The same frame without its WebSocket header: the message bytes as the HTTP streaming
// transports frame them (JSON message; Protobuf varint length + message).
std::string_view shared_push_body(const hub::Fanout& f, unsigned shard,
                                  protocol::ProtocolType protocol, hub::Fanout::Form form);
// The bare Push inside a bidirectional JSON push `{"push":X}` -> X (unidirectional
// transports, client-protocol.md §4.15).
std::string_view bare_push(std::string_view reply_push);

// Appends a WebSocket frame header for `body` with `opcode`, then the body.
void frame_into(std::string& out, std::string_view body, uint8_t opcode);

}  // namespace gyre::transport
