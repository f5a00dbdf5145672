#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <vector>
#include <memory>
#include <optional>
#include <string>

#include "core/sharded.h"
#include "node/client.h"
#include "node/transport.h"
#include "transport/byte_stream.h"
#include "transport/shared_frames.h"
#include "transport/write_coalescing.h"
#include "transport/ws_frame.h"
#include "transport/ws_reader.h"

// Bidirectional WebSocket transport (client-protocol.md §8.1) after the HTTP upgrade.
//
// Reading: the session waits for readability and reads into a per-shard buffer, so an idle
// connection holds no read buffer; only a partial frame is kept per connection. The session
// takes the descriptor out of Asio at construction (ByteStream::attach): its readiness comes
// from the shard's Readiness set (transport/readiness.h), with no per-socket Asio state and
// no per-wait operation; a pending wait keeps the session alive.
// Writing: replies and pushes are queued as chunks (owned bytes, or a shared encoded
// publication plus a per-chunk frame header) and every dirty session of a shard is flushed
// once per event-loop turn with one writev. Shard-local: a session lives on the shard that
// received the connection and only that shard's thread calls it; other shards reach its
// client only through the node (Sharded<NodeShard>: hub fan-out, for_each_connection).
// Compression (permessage-deflate, no context takeover): replies are compressed per frame when
// sealed; a shared push is compressed once per shard into its SharedFrames (ws_deflate.h).
// Native ping/pong (cf_ws_frame_ping_pong): a per-connection timer, allocated only for such
// connections, sends a ping frame every ping_interval and drops the connection when no pong
// came within pong_timeout, as Centrifuge's read deadline does.
// Code: websocket_session.cc (setup, writing, timers), websocket_reader.cc (reading),
// websocket_session_internal.h (the per-shard Io and the native-ping state they share).
namespace gyre::transport {

// The WebSocket transport's per-shard state: one read buffer for every connection of a shard
// and the sessions with output to flush at the end of the loop turn, one Io per shard in a
// Sharded. Install one for the process's shards (server/main.cc) before any session exists
// and keep it until the loops have stopped and their pending handlers were discarded: the
// sessions it still lists are released with it. Each Io is shard-local.
class WebSocketShards {
 public:
  struct Io;
  explicit WebSocketShards(ShardSet& shards);
  ~WebSocketShards();
  WebSocketShards(const WebSocketShards&) = delete;
  WebSocketShards& operator=(const WebSocketShards&) = delete;

  // The calling shard's Io. Only on a shard thread of the installed set.
  static Io& local();
  // The calling shard's Io, or null when no WebSocketShards is installed (tools, tests).
  static Io* local_if_installed();

 private:
  Sharded<Io> io_;
};

// Kept at 32 bytes: every connection holds a copy (bytes per idle connection are tracked).
struct WebSocketOptions {
  int64_t queue_max_size = 1048576;
  std::chrono::milliseconds write_timeout{1000};
  int32_t message_size_limit = 65536;  // bounds the inflated size of compressed messages too
  // permessage-deflate (reference.md §1.3): compress messages longer than this; 0 = all.
  int32_t compression_min_size = 0;
  protocol::ProtocolType protocol = protocol::ProtocolType::kJson;
  // uni_websocket (client-protocol.md §8.3.1): bare pushes, the first client message is the
  // ConnectRequest (unless it came in the URL), later messages are discarded, a disconnect
  // is a push and then a close frame.
  bool unidirectional = false;
  int8_t compression_level = 1;
  bool deflate = false;          // negotiated in the handshake
  bool frame_ping_pong = false;  // cf_ws_frame_ping_pong: native pings instead of app pings
};
static_assert(sizeof(WebSocketOptions) <= 32);

class WebSocketSession final : public node::Transport,
                               public std::enable_shared_from_this<WebSocketSession>,
                               private Readiness::Waiter {
 public:
  WebSocketSession(ByteStream socket, WebSocketOptions opts);
  ~WebSocketSession() override;

  // `initial` holds bytes read past the HTTP upgrade request (already client frames).
  void start(node::Node& node, node::ConnectionRequest request, std::string initial);
  // uni_websocket with `cf_connect` in the URL: connects at once with `req`.
  void start_unidirectional(node::Node& node, node::ConnectionRequest request,
                            std::optional<protocol::ConnectRequest> req, std::string initial);
  // Closes right after the upgrade (e.g. 3001 during shutdown) without creating a client.
  void reject(const Disconnect& d);

  // node::Transport
  const protocol::Codec& codec() const override;
  node::TransportInfo info() const override;
  void send(std::string message) override;
  void send_shared(const std::shared_ptr<const hub::Fanout>& f, hub::Fanout::Form form) override;
  void prefetch_output() const override;
  void close(const Disconnect& d) override;

  // Per-shard flush of every session that queued output since the last flush. Returns the
  // number of sessions flushed. On a shard thread (WebSocketShards installed).
  static size_t flush_dirty();
  // When the shard's event loop calls flush_dirty() itself each time it runs out of ready
  // handlers (server/main.cc), sessions only mark themselves dirty; otherwise (tests, tools)
  // they post one flush per loop turn. Set once per shard thread.
  static void set_loop_driven_flush(bool on);
  // WebSocket sessions alive in the process (all shards).
  static size_t live_sessions();
  // Native ping period of uni_websocket and how long a pong may take after each ping.
  // Centrifugo fixes them (25 s, 25 s / 9); only the GYRE_TEST_UNI_WS_PING_MS test hook changes
  // them (server/main.cc). Not thread-safe: call before the shard threads start.
  static void set_uni_native_ping(std::chrono::milliseconds interval,
                                  std::chrono::milliseconds timeout);
  // Write coalescing and frame joining (client_write_delay, client_max_messages_in_frame,
  // client_reply_without_queue) for WebSocket and HTTP streaming sessions. Coalescing applies
  // on loop-driven shards only (set_loop_driven_flush); the frame limit everywhere. Not
  // thread-safe: call before the shard threads start.
  static void set_write_coalescing(const CoalescingOptions& o);
  static const CoalescingOptions& write_coalescing();
  // The shard loop reports when it blocks waiting for events and when it wakes (the
  // adaptive window follows its busy fraction). On a shard thread.
  static void loop_idle();
  static void loop_busy();
  // The earliest time (coalescing_now_us clock) a held connection is due, 0 when none: the
  // loop must not block past it. On a shard thread.
  static uint64_t hold_deadline_us();
  // The shard's write coalescing counters. On a shard thread; the reference stays valid for
  // the thread's life.
  static const CoalescingStats& coalescing_stats();
  // The shard's current coalescing window in microseconds (0: off or idle). On a shard thread.
  static uint64_t write_window_us();

 private:
  // One queued write: a shared pre-framed push (the shard's slot of a Fanout, refcounted
  // without atomics) or owned bytes (replies joined into one frame, control frames).
  struct Chunk {
    SharedFrames* slot = nullptr;
    const std::string* frame = nullptr;  // the slot's frame for this connection's protocol
    std::string owned;
    uint8_t header[10];
    uint8_t header_len = 0;
    bool open = false;     // an owned data frame still accepting messages
    uint32_t sent = 0;     // bytes of header+body already written
    uint32_t messages = 0;
    size_t body_size() const { return frame != nullptr ? frame->size() : owned.size(); }
    size_t size() const { return header_len + body_size(); }
  };

  bool out_empty() const { return head_ == out_.size(); }
  Chunk& push_chunk();
  // The last queued chunk if further messages may join its frame (unsent, room left per
  // client_max_messages_in_frame), turning an uncompressed shared push into an open owned
  // frame; else null.
  Chunk* joinable_tail();
  void pop_front_chunk();
  void clear_out(bool keep_partial_front);
  static void release(Chunk& c);
  void read_from(std::string initial);  // processes bytes read with the upgrade, then reads
  void wait_readable();
  void on_readable();
  bool process_input(uint8_t* data, size_t size, size_t& consumed);
  // Acts on one event of the reader; false stops reading.
  bool handle_event(const ws::ReadEvent& e);
  void fail_protocol(uint16_t code, std::string_view reason);
  // `urgent`: written this turn even if the connection is held (reply_without_queue).
  void schedule_flush(bool urgent = false);
  static bool on_hold_end(void* self, uint32_t stamp);  // HoldQueue::Release
  void flush();
  void seal_open_chunk();
  void seal(Chunk& c);
  void push_control(uint8_t opcode, std::string_view payload);
  void enqueue_close(uint16_t code, std::string_view reason);
  void on_written_all();
  void finish();  // the connection is gone: notify the client, release everything
  void arm_timer(std::chrono::milliseconds after, void (WebSocketSession::*fn)());
  void on_write_timeout();
  void on_close_timeout();
  // Inflates a compressed message and hands it on. False when the connection failed (1009
  // above websocket_message_size_limit).
  bool deliver_compressed(std::string_view data);
  // One complete client message: commands, or (unidirectional) the ConnectRequest.
  void deliver(std::string_view message);
  const std::string* deflated_frame(SharedFrames& slot, const std::string* plain,
                                    SharedFrames::Deflated which);
  // Whether a message payload of this size is compressed (websocket_compression_min_size).
  bool compresses(size_t payload_size) const;
  void compress_owned(Chunk& c);
  // Native ping frames: cf_ws_frame_ping_pong, and always on uni_websocket.
  struct NativePing;
  // Readiness::Waiter: the socket became readable (wait_readable) or writable (flush).
  void on_ready(Readiness::Dir d) override;
  // This session as the Waiter of a pending wait (which keeps it alive).
  std::shared_ptr<Readiness::Waiter> as_waiter() {
    Readiness::Waiter* w = this;
    return {shared_from_this(), w};
  }
  void native_ping_start(std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  void native_ping_arm(std::chrono::milliseconds after, bool check);
  void native_ping_fire(bool check);

  ByteStream socket_;  // plain TCP or TLS
  WebSocketOptions opts_;
  std::shared_ptr<node::Client> client_;
  std::unique_ptr<std::string> pending_;  // partial frame bytes; null when none
  ws::MessageReader reader_;  // frame validation and message assembly (ws_reader.h)

  std::vector<Chunk> out_;  // [head_, size) pending; storage recycled per shard when drained
  size_t queued_bytes_ = 0;
  // Flags as bit-fields: with them the session fits a 240-byte heap block with its
  // make_shared control block (docs/performance.md "Idle connections").
  bool dirty_ : 1 = false;
  bool writing_ : 1 = false;      // waiting for writability
  bool close_queued_ : 1 = false; // a close frame is in out_
  bool close_sent_ : 1 = false;
  bool finished_ : 1 = false;
  bool reading_ : 1 = false;
  bool peer_closed_ : 1 = false;
  bool uni_connect_seen_ : 1 = false;  // unidirectional: the ConnectRequest arrived
  // Write coalescing: written once at least, output held until a hold ends, a message that
  // must go this turn is queued.
  bool written_ : 1 = false;
  bool held_ : 1 = false;
  bool urgent_ : 1 = false;
  // Set when the connection failed on bad input (fail_protocol): what follows is the rest of a
  // refused frame, not frames, so it is read and dropped until EOF or the close wait ends.
  bool discard_input_ : 1 = false;
  uint32_t last_write_us_ = 0;  // low 32 bits of coalescing_now_us() at the last write
  unsigned shard_id_ = 0;
  uint32_t head_ = 0;  // first pending chunk of out_ (with the flags above: 24 bytes)
  std::unique_ptr<boost::asio::steady_timer> timer_;
  uint64_t timer_gen_ = 0;
  std::unique_ptr<NativePing> native_ping_;  // cf_ws_frame_ping_pong and uni_websocket only
};

}  // namespace gyre::transport
