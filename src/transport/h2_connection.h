#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/byte_stream.h"

struct nghttp2_session;

// HTTP/2 over TLS (ALPN "h2"), as Go's net/http serves it when TLS is on: the HTTP API,
// HTTP-stream, SSE, emulation and the uni_ streams. WebSocket stays HTTP/1.1 (no extended
// CONNECT, as Go by default).
//
// Design (docs/operations.md, "HTTP/2"): an nghttp2 server session per connection. Each
// request stream becomes one internal HTTP/1.1 request (`Connection: close`) written into one
// end of a socket pair whose other end is served by the ordinary HTTP/1.1 session (same
// handlers, same limits, same shard). The HTTP/1.1 response read back is decoded
// (Http1ResponseDecoder) into HEADERS and DATA frames; long-lived chunked bodies (HTTP-stream,
// SSE) are forwarded as they arrive. Bounded: at most `stream_buffer` bytes of a stream's
// response wait here; beyond that the pair is not read, the socket pair's buffer fills and the
// inner session's own write queue limit (client_queue_max_size) applies, as on HTTP/1.1.
namespace gyre::transport {

// Incremental decoder of one HTTP/1.1 response: the head, then the body framed by
// `Transfer-Encoding: chunked`, Content-Length, or the end of the stream. Shard-local (one
// per h2 stream).
class Http1ResponseDecoder {
 public:
  // Body bytes decoded from `in` are appended to `body`. False: malformed (the decoder then
  // stays failed).
  bool feed(std::string_view in, std::string& body);
  // The stream ended: completes an until-EOF body; false if a framed body or the head was cut.
  bool eof();

  bool head_done() const { return state_ != State::kHead && state_ != State::kFailed; }
  bool done() const { return state_ == State::kDone; }
  int status() const { return status_; }
  // Header names lower-cased, connection-specific ones (Connection, Keep-Alive,
  // Transfer-Encoding, Upgrade, Proxy-Connection) dropped.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  enum class State { kHead, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kLength, kToEof,
                     kDone, kFailed };
  bool parse_head(std::string_view head);

  State state_ = State::kHead;
  std::string pending_;  // an incomplete head, chunk-size line or trailer line
  uint64_t left_ = 0;    // bytes of the current chunk / of the Content-Length body
  int status_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_;
};

struct H2Options {
  // Serves one HTTP/1.1 request on `socket` (the inner end of a stream's socket pair), on the
  // calling shard.
  std::function<void(ByteStream::Socket)> serve_http1;
  // True once the node shuts down: GOAWAY is sent, the connection closes with its last stream.
  std::function<bool()> shutting_down;
  // The request body bound of a request path (without the query): the HTTP/1.1 path's bound
  // for the same route. A larger Content-Length is answered 413 at once, before any DATA; a
  // body without one gets 413 as soon as it passes the bound (no more of it is kept).
  std::function<uint64_t(std::string_view path)> body_limit;
  // Response bytes of one stream held here before its socket pair stops being read.
  size_t stream_buffer = 64 * 1024;
  // The HTTP/1.1 path's deadlines (server/http_server.cc), per request stream: its header
  // block must be complete `header_timeout` after it began (else the connection, which cannot
  // carry other frames in the middle of a header block, is closed with GOAWAY), then its body
  // within `body_timeout` (else the stream is reset with CANCEL).
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{60000};
  // A connection without streams for this long is closed with GOAWAY (NO_ERROR).
  std::chrono::milliseconds idle_timeout{10000};
};

// One HTTP/2 connection over a TLS ByteStream. Shard-local: lives on the connection's shard,
// kept alive by its pending operations.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  H2Connection(ByteStream stream, H2Options opts);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // `initial`: plaintext already read from the connection (the client preface, frames).
  void start(std::string_view initial);

  // HTTP/2 connections open (all shards).
  static size_t live_connections();

  struct Stream;  // one request stream (h2_connection.cc)
  struct Callbacks;

 private:
  void receive(const char* data, size_t n);
  void read();
  void flush();
  void terminate();
  void tick();
  void maybe_goaway();
  void dispatch(const std::shared_ptr<Stream>& st);
  void read_pair(const std::shared_ptr<Stream>& st);
  void on_pair_data(const std::shared_ptr<Stream>& st, std::string_view data,
                    boost::system::error_code ec);
  void submit_response(const std::shared_ptr<Stream>& st);
  void submit_simple(int32_t id, int status);
  void reject(Stream& st, int status);
  void headers_complete(const std::shared_ptr<Stream>& st, bool end_stream);
  void expire_streams();
  void close_stream(int32_t id);

  ByteStream stream_;
  H2Options opts_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::shared_ptr<Stream>> streams_;
  boost::asio::steady_timer timer_;
  std::string rbuf_;
  std::string wbuf_;
  bool writing_ = false;
  bool closed_ = false;
  bool goaway_ = false;
  std::chrono::steady_clock::time_point idle_since_;
};

}  // namespace gyre::transport
