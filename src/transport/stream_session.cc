#include "transport/stream_session.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <atomic>

#include "core/log.h"
#include "node/node.h"
#include "transport/emulation.h"
#include "transport/http_util.h"
#include "transport/shared_frames.h"
#include "transport/websocket_session.h"
#include "transport/websocket_session_internal.h"

namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::atomic<size_t> g_live_streams{0};

}  // namespace

void RequestLine::write(int status) const {
  const std::string duration = logging::go_duration(gyre::clock::now() - started);
  logging::debug("http request", {{"method", method},
                                  {"status", status},
                                  {"path", path},
                                  {"addr", addr},
                                  {"duration", duration}});
}

size_t StreamSession::live_sessions() { return g_live_streams.load(std::memory_order_relaxed); }

StreamSession::StreamSession(ByteStream socket, StreamOptions opts)
    : socket_(std::move(socket)), opts_(std::move(opts)) {
  g_live_streams.fetch_add(1, std::memory_order_relaxed);
  error_code ec;
  socket_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  head_ = http::stream_response_head(sse() ? "text/event-stream; charset=utf-8" : "",
                                     opts_.extra_headers);
}

StreamSession::~StreamSession() {
  if (!session_id_.empty()) {
    EmulationRegistry::remove(session_id_);
  }
  g_live_streams.fetch_sub(1, std::memory_order_relaxed);
}

const protocol::Codec& StreamSession::codec() const {
  return opts_.protocol == protocol::ProtocolType::kProtobuf ? protocol::protobuf_codec()
                                                             : protocol::json_codec();
}

node::TransportInfo StreamSession::info() const {
  switch (opts_.kind) {
    case StreamKind::kHttpStream:
      return {"http_stream", false, true, true};
    case StreamKind::kSse:
      return {"sse", false, true, true};
    case StreamKind::kUniHttpStream:
      return {"uni_http_stream", true, false, true};
    case StreamKind::kUniSse:
      return {"uni_sse", true, false, true};
  }
  return {};
}

void StreamSession::start(node::Node& node, node::ConnectionRequest request, std::string frame) {
  client_ = std::make_shared<node::Client>(node, this, std::move(request));
  client_->open();
  session_id_ = client_->session();
  if (!session_id_.empty()) {
    EmulationRegistry::add(session_id_, {Shard::current() != nullptr ? Shard::current()->id() : 0,
                                         weak_from_this()});
  }
  // The head goes out at once: JS treats the transport as open when the response starts.
  schedule_flush();
  watch_peer();
  client_->handle_frame(frame);
}

void StreamSession::start_unidirectional(node::Node& node, node::ConnectionRequest request,
                                         protocol::ConnectRequest req) {
  client_ = std::make_shared<node::Client>(node, this, std::move(request));
  client_->open();
  watch_peer();
  client_->connect_unidirectional(std::move(req));
}

void StreamSession::reject(const Disconnect& d) {
  watch_peer();
  enqueue_close(d);
}

void StreamSession::handle_emulation(const std::string& data) {
  if (finished_ || closing_ || !client_) {
    return;
  }
  if (opts_.protocol == protocol::ProtocolType::kJson) {
    // JSON: `data` is a JSON string holding the command lines (§8.2.3); anything else is
    // dropped, as Centrifuge does.
    auto frame = decode_json_string(data);
    if (!frame) {
      return;
    }
    client_->handle_frame(*frame);
    return;
  }
  client_->handle_frame(data);
}

// ------------------------------------------------------------------- output

void StreamSession::append_message(std::string_view msg) {
  if (sse()) {
    body_.append("data: ").append(msg).append("\n\n");
  } else if (opts_.protocol == protocol::ProtocolType::kProtobuf) {
    append_varint(body_, msg.size());
    body_.append(msg);
  } else {
    body_.append(msg).append("\n");
  }
}

void StreamSession::send(std::string message) {
  if (closing_ || finished_) {
    return;
  }
  append_message(message);
  if (static_cast<int64_t>(body_.size() + out_.size()) > opts_.queue_max_size) {
    if (client_) {
      client_->disconnect(disconnects::slow());
    }
    return;
  }
  schedule_flush(reply_is_urgent(WebSocketSession::write_coalescing()));
}

void StreamSession::send_shared(const std::shared_ptr<const hub::Fanout>& f,
                                hub::Fanout::Form form) {
  if (closing_ || finished_) {
    return;
  }
  if (WebSocketShards::Io* io = WebSocketShards::local_if_installed()) {
    io->pushed = true;
  }
  // Encoded once per fan-out (and framed once per shard for Protobuf); only the stream's
  // own framing is added here.
  unsigned shard = Shard::current() != nullptr ? Shard::current()->id() : 0;
  std::string_view body = shared_push_body(*f, shard, opts_.protocol, form);
  if (unidirectional()) {
    body = bare_push(body);
  }
  if (opts_.protocol == protocol::ProtocolType::kProtobuf) {
    body_.append(body);  // already varint-delimited
  } else {
    append_message(body);
  }
  if (static_cast<int64_t>(body_.size() + out_.size()) > opts_.queue_max_size) {
    if (client_) {
      client_->disconnect(disconnects::slow());
    }
    return;
  }
  schedule_flush();
}

void StreamSession::connect_failed(uint32_t code, std::string_view message) {
  if (!unidirectional() || head_queued_) {
    return;
  }
  auto r = http::connect_code_to_http_response(opts_.connect_code_to_http_response, code, message);
  if (r) {
    status_ = r->status;
    http_response_ = http::simple_response(r->status, "text/plain; charset=utf-8", r->body,
                                           opts_.extra_headers, false);
  }
}

void StreamSession::close(const Disconnect& d) { enqueue_close(d); }

void StreamSession::enqueue_close(const Disconnect& d) {
  if (closing_ || finished_) {
    return;
  }
  if (d.code == disconnects::slow().code) {
    // Queued messages are not flushed after 3008 (client-protocol.md §2.5).
    body_.clear();
  }
  if (d.code != disconnects::connection_closed().code) {
    std::string push;
    codec().encode_disconnect(push, d, unidirectional());
    append_message(push);
  }
  closing_ = true;
  if (client_) {
    client_->transport_closed();
  }
  schedule_flush(true);  // a held stream ends now, with what is queued before
}

void StreamSession::schedule_flush(bool urgent) {
  if (writing_ || finished_) {
    return;
  }
  urgent_ = urgent_ || urgent;
  if (flush_posted_ || (held_ && !urgent_)) {
    return;  // flushed this turn, or when the hold ends
  }
  flush_posted_ = true;
  // One write per event-loop turn: messages queued in this turn share a chunk.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush_or_hold();
  });
}

void StreamSession::flush_or_hold() {
  WebSocketShards::Io* io = WebSocketShards::local_if_installed();
  if (io != nullptr && io->policy.enabled() && !urgent_ && !closing_ && head_queued_ &&
      !http_response_ && !writing_ && !finished_) {
    uint64_t now = coalescing_now_us();
    uint64_t until = io->policy.hold_until(now, last_write_us_, !written_, body_.size());
    if (until != 0) {
      if (!held_) {
        held_ = true;
        io->hold(until, shared_from_this(), &StreamSession::on_hold_end, last_write_us_);
      }
      return;
    }
  }
  flush();
}

bool StreamSession::on_hold_end(void* self, uint32_t stamp) {
  auto* s = static_cast<StreamSession*>(self);
  // A stale entry (hold_queue.h): not held any more, or written since it was queued.
  if (!s->held_ || s->last_write_us_ != stamp) {
    return false;
  }
  s->flush();
  return true;
}

void StreamSession::flush() {
  if (writing_ || finished_) {
    return;
  }
  held_ = false;  // a pending hold entry is stale from here on
  urgent_ = false;
  out_.clear();
  if (http_response_) {
    out_ = std::move(*http_response_);
    http_response_.reset();
    head_queued_ = true;
    body_.clear();
    closing_ = true;
  } else {
    if (!head_queued_) {
      if (unidirectional() && body_.empty() && !closing_) {
        return;  // the head waits for the connect push (or the failure)
      }
      out_ = std::move(head_);
      head_.clear();
      head_queued_ = true;
      if (sse()) {
        // SSE opens with CR LF, written and flushed on its own before any event, as
        // Centrifuge does (client-protocol.md §8.2.2): the browser fires `open` on it, and
        // some client parsers (npm eventsource 2) mis-parse a CR LF followed by an event in
        // the same read.
        http::append_chunk(out_, "\r\n");
        if (!closing_ || !body_.empty()) {
          start_write();
          return;
        }
      }
    }
    http::append_chunk(out_, body_);
    body_.clear();
    if (closing_) {
      out_.append(http::kLastChunk);
    }
  }
  if (out_.empty()) {
    return;
  }
  start_write();
}

void StreamSession::start_write() {
  writing_ = true;
  written_ = true;
  last_write_us_ = static_cast<uint32_t>(coalescing_now_us());
  if (WebSocketShards::Io* io = WebSocketShards::local_if_installed()) {
    ++io->stats.writes;
  }
  if (!timer_) {
    timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  }
  uint64_t gen = ++timer_gen_;
  timer_->expires_after(opts_.write_timeout);
  timer_->async_wait([self = shared_from_this(), gen](error_code ec) {
    if (!ec && gen == self->timer_gen_ && self->writing_) {
      self->on_write_timeout();
    }
  });
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, size_t) { self->on_written(ec); });
}

void StreamSession::on_written(const error_code& ec) {
  writing_ = false;
  ++timer_gen_;  // disarms the write timeout
  if (ec) {
    finish();
    return;
  }
  out_.clear();
  if (closing_ && body_.empty()) {
    finish();
    return;
  }
  if (!body_.empty() || closing_) {
    flush();
  }
}

void StreamSession::on_write_timeout() {
  // The peer does not read (3009 write error): nothing more can be written to it.
  finish();
}

// The request has been read completely: anything readable now is the peer going away (EOF)
// or bytes we ignore (HTTP pipelining is not supported on a streaming response).
void StreamSession::watch_peer() {
  if (watching_ || finished_) {
    return;
  }
  watching_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     asio::bind_allocator(std::allocator<void>(),
                                          [self = shared_from_this()](error_code ec) {
                                            self->watching_ = false;
                                            if (ec) {
                                              self->finish();
                                              return;
                                            }
                                            std::array<char, 512> buf;
                                            error_code rec;
                                            self->socket_.socket().non_blocking(true, rec);
                                            size_t n = self->socket_.read_some(
                                                asio::buffer(buf), rec);
                                            if (rec == asio::error::would_block ||
                                                rec == asio::error::try_again) {
                                              self->watch_peer();
                                              return;
                                            }
                                            if (rec || n == 0) {
                                              self->finish();
                                              return;
                                            }
                                            self->watch_peer();
                                          }));
}

void StreamSession::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  closing_ = true;
  if (!session_id_.empty()) {
    EmulationRegistry::remove(session_id_);
    session_id_.clear();
  }
  socket_.close();
  if (timer_) {
    timer_->cancel();
  }
  if (client_) {
    client_->transport_closed();  // "client connection completed" comes first, as in Centrifugo
    asio::post(socket_.get_executor(), [c = std::move(client_)] {});
  }
  if (opts_.request_line) {
    opts_.request_line->write(status_);
  }
}

}  // namespace gyre::transport
