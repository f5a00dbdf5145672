#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "transport/hold_queue.h"
#include "transport/websocket_session.h"
#include "transport/write_coalescing.h"

// Definitions shared by the two halves of WebSocketSession (websocket_session.cc: setup and
// writing; websocket_reader.cc: reading). Not for other modules.
namespace gyre::transport {

// One shard's WebSocket I/O state. Shard-local.
struct WebSocketShards::Io {
  static constexpr size_t kReadBufferSize = 64 * 1024;
  // One read buffer for every connection of the shard: idle connections hold none.
  std::vector<uint8_t> read_buf = std::vector<uint8_t>(kReadBufferSize);
  // Sessions with output to flush at the end of this loop turn.
  std::vector<std::shared_ptr<WebSocketSession>> dirty;
  bool flush_posted = false;
  bool loop_driven = false;
  // Write coalescing (write_coalescing.h): enabled only on loop-driven shards, where the
  // loop wakes for the earliest hold (hold_deadline_us).
  CoalescingPolicy policy;
  CoalescingStats stats;
  // A fanned-out push was queued on a connection since the last flush_dirty (the policy's
  // rate term counts pushing turns).
  bool pushed = false;
  uint64_t now_us = 0;  // the clock when this turn's flush began
  // WebSocket socket writes and the frames they completed (policy.output_written).
  uint64_t ws_writes = 0;
  uint64_t ws_frames = 0;
  // The last flush that wrote connections: they were stamped with its start and are taken as
  // written at its end (a flush of many connections can take milliseconds).
  uint64_t last_flush_start_us = 0;
  uint64_t last_flush_end_us = 0;
  uint32_t effective_last_write(uint32_t stamp) const {
    return stamp == static_cast<uint32_t>(last_flush_start_us)
               ? static_cast<uint32_t>(last_flush_end_us)
               : stamp;
  }
  // Connections (WebSocket and HTTP streaming) whose output is held, in time order
  // (hold_queue.h); the stamp is the connection's last-write stamp when it was held.
  HoldQueue held;
  void hold(uint64_t until_us, std::shared_ptr<void> keep, HoldQueue::Release fn,
            uint32_t stamp) {
    ++stats.holds;
    held.hold(until_us, std::move(keep), fn, stamp);
  }
};

// cf_ws_frame_ping_pong state (client-protocol.md §6 "Other variants"): Centrifuge sends a
// ping frame every ping interval (25 s when unset) and sets a read deadline of pong timeout
// (10 s when unset) after each one; a missed deadline ends the read loop and the connection
// is closed without a close frame (the client sees 1006).
struct WebSocketSession::NativePing {
  explicit NativePing(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  std::chrono::milliseconds interval{25000};
  std::chrono::milliseconds timeout{10000};
  bool awaiting_pong = false;
};

}  // namespace gyre::transport
