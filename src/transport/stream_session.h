#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "transport/byte_stream.h"
#include "node/client.h"
#include "node/transport.h"

// The HTTP streaming client transports: one long chunked HTTP/1.1 response carries every
// message from the server (client-protocol.md §8.2, §8.3):
//   kHttpStream     bidirectional emulation; JSON lines (LF after each Reply) or Protobuf
//                   varint-delimited Replies; commands arrive through POST /emulation.
//   kSse            bidirectional emulation; `data: <Reply JSON>\n\n` events after an initial
//                   CR LF.
//   kUniHttpStream  unidirectional; bare Push JSON lines.
//   kUniSse         unidirectional; `data: <Push JSON>\n\n` events after an initial CR LF.
// The request (head and body) has been read by the HTTP server; the session owns the socket
// from then on and only watches it for the peer going away. Output is queued per event-loop
// turn and written with one write at a time; each batch is one HTTP chunk. A disconnect is a
// `disconnect` push, then the last chunk, then the socket is closed.
// Shard-local: created and used on the connection's shard only.
namespace gyre::transport {

enum class StreamKind { kHttpStream, kSse, kUniHttpStream, kUniSse };

// Centrifugo's debug "http request" line (its LogRequest middleware: method, status, path,
// addr, duration), the request's part kept until its status is known. Centrifugo writes a
// streaming request's line when the handler returns, i.e. when the stream ends (after the
// connection's "client connection completed" line), with 200 unless a failed uni connect
// was answered with another status. Plain data: used on one shard.
struct RequestLine {
  std::string method;
  std::string path;  // without the query
  std::string addr;  // X-Real-IP, else X-Forwarded-For, else the peer's "ip:port"
  gyre::clock::TimePoint started;
  // Writes the line (at debug level; the caller checks the level before building it).
  void write(int status) const;
};

struct StreamOptions {
  StreamKind kind = StreamKind::kHttpStream;
  protocol::ProtocolType protocol = protocol::ProtocolType::kJson;
  int64_t queue_max_size = 1048576;
  std::chrono::milliseconds write_timeout{1000};
  std::string extra_headers;  // CORS lines, CR LF terminated
  // uni_*_connect_code_to_http_response; unused for bidirectional kinds.
  config::CodeTransforms connect_code_to_http_response;
  // Set at debug level only: written by the session when the stream ends.
  std::optional<RequestLine> request_line;
};

class StreamSession final : public node::Transport,
                            public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(ByteStream socket, StreamOptions opts);
  ~StreamSession() override;

  // Bidirectional kinds: sends the response head at once and processes `frame` (the
  // request's command frame) as the first inbound frame.
  void start(node::Node& node, node::ConnectionRequest request, std::string frame);
  // Unidirectional kinds: connects with `req`; the response head goes out with the connect
  // push (or the disconnect, or the HTTP response of a connect-code transform).
  void start_unidirectional(node::Node& node, node::ConnectionRequest request,
                            protocol::ConnectRequest req);
  // During shutdown: the stream carries only a 3001 disconnect.
  void reject(const Disconnect& d);

  // POST /emulation for this session: `data` as EmulationRequest.data (a JSON string for
  // JSON sessions, a delimited Command frame for Protobuf ones).
  void handle_emulation(const std::string& data);

  const std::string& session_id() const { return session_id_; }

  // node::Transport
  const protocol::Codec& codec() const override;
  node::TransportInfo info() const override;
  void send(std::string message) override;
  void send_shared(const std::shared_ptr<const hub::Fanout>& f, hub::Fanout::Form form) override;
  void close(const Disconnect& d) override;
  void connect_failed(uint32_t code, std::string_view message) override;

  // Stream sessions alive in the process (all shards).
  static size_t live_sessions();

 private:
  bool unidirectional() const {
    return opts_.kind == StreamKind::kUniHttpStream || opts_.kind == StreamKind::kUniSse;
  }
  bool sse() const { return opts_.kind == StreamKind::kSse || opts_.kind == StreamKind::kUniSse; }
  void append_message(std::string_view msg);
  void enqueue_close(const Disconnect& d);
  // `urgent`: written this turn even if the stream is held (reply_without_queue).
  void schedule_flush(bool urgent = false);
  void flush_or_hold();  // the turn's flush: holds it when write coalescing says so
  static bool on_hold_end(void* self, uint32_t stamp);  // HoldQueue::Release
  void flush();
  void start_write();  // writes out_
  void on_written(const boost::system::error_code& ec);
  void watch_peer();
  void finish();
  void on_write_timeout();

  ByteStream socket_;  // plain TCP or TLS
  StreamOptions opts_;
  std::shared_ptr<node::Client> client_;
  std::string session_id_;     // registered in EmulationRegistry while non-empty
  std::string head_;           // response head not yet written (empty once queued)
  bool head_queued_ = false;
  std::string body_;           // framed messages of this turn, not yet chunked
  std::string out_;            // bytes being written
  std::optional<std::string> http_response_;  // a failed uni connect's plain response
  int status_ = 200;  // the response's status, for the "http request" line
  bool flush_posted_ = false;
  bool writing_ = false;
  bool closing_ = false;       // the disconnect is queued: end the stream after it
  bool finished_ = false;
  bool watching_ = false;
  // Write coalescing (write_coalescing.h), as WebSocketSession.
  bool written_ = false;
  bool held_ = false;
  bool urgent_ = false;
  uint32_t last_write_us_ = 0;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  uint64_t timer_gen_ = 0;
};

}  // namespace gyre::transport
