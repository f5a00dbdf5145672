#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "transport/websocket_session.h"

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
