#include "transport/websocket_session.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <array>
#include <atomic>
#include <span>
#include <vector>

#include "node/node.h"

namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kMaxMessagesPerFrame = 16;  // as Centrifuge's writer
constexpr size_t kMaxIov = 64;
constexpr auto kCloseWait = std::chrono::seconds(5);

// Per-shard scratch state: one read buffer for every connection of the shard, and the list
// of sessions with output to flush at the end of this loop turn.
constexpr size_t kMaxPooledQueues = 4096;

struct ShardIo {
  std::vector<uint8_t> read_buf = std::vector<uint8_t>(kReadBufferSize);

  std::vector<std::shared_ptr<WebSocketSession>> dirty;
  bool flush_posted = false;
  bool loop_driven = false;
};
thread_local ShardIo tl_io;

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

}  // namespace

namespace {
std::atomic<size_t> g_live_sessions{0};
}  // namespace

size_t WebSocketSession::live_sessions() { return g_live_sessions.load(std::memory_order_relaxed); }

WebSocketSession::WebSocketSession(asio::ip::tcp::socket socket, WebSocketOptions opts)
    : socket_(std::move(socket)), opts_(opts) {
  g_live_sessions.fetch_add(1, std::memory_order_relaxed);
  if (Shard* s = Shard::current()) {
    shard_id_ = s->id();
  }
  error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

WebSocketSession::~WebSocketSession() {
  clear_out(false);
  g_live_sessions.fetch_sub(1, std::memory_order_relaxed);
}

const protocol::Codec& WebSocketSession::codec() const {
  return opts_.protocol == protocol::ProtocolType::kProtobuf ? protocol::protobuf_codec()
                                                             : protocol::json_codec();
}

node::TransportInfo WebSocketSession::info() const {
  return {"websocket", false, false, !opts_.frame_ping_pong};
}

void WebSocketSession::start(node::Node& node, node::ConnectionRequest request,
                             std::string initial) {
  client_ = std::make_shared<node::Client>(node, this, std::move(request));
  client_->open();
  if (!initial.empty()) {
    pending_ = std::move(initial);
    size_t consumed = 0;
    bool ok = process_input(reinterpret_cast<uint8_t*>(pending_.data()), pending_.size(),
                            consumed);
    if (!ok || finished_) {
      return;
    }
    pending_.erase(0, consumed);
  }
  wait_readable();
}

void WebSocketSession::reject(const Disconnect& d) {
  enqueue_close(static_cast<uint16_t>(d.code), d.reason);
  wait_readable();
}

// ------------------------------------------------------------------- reading

void WebSocketSession::wait_readable() {
  if (reading_ || finished_) {
    return;
  }
  reading_ = true;
  // The wait stays pending for as long as the connection is idle. std::allocator sizes the
  // operation exactly; Asio's default recycling allocator would park it in any larger block
  // cached by the thread (e.g. one left by the HTTP upgrade's read), ~600 bytes per connection.
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     asio::bind_allocator(std::allocator<void>(),
                                          [self = shared_from_this()](error_code ec) {
                                            self->reading_ = false;
                                            if (ec) {
                                              self->finish();
                                              return;
                                            }
                                            self->on_readable();
                                          }));
}

void WebSocketSession::on_readable() {
  if (finished_) {
    return;
  }
  auto self = shared_from_this();
  auto& buf = tl_io.read_buf;
  for (int round = 0; round < 16; ++round) {
    error_code ec;
    size_t n = socket_.read_some(asio::buffer(buf.data(), buf.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      break;
    }
    if (ec || n == 0) {
      finish();
      return;
    }
    if (discard_input_) {
      continue;
    }
    bool ok = true;
    if (pending_.empty()) {
      size_t consumed = 0;
      ok = process_input(buf.data(), n, consumed);
      if (ok && !finished_ && consumed < n) {
        pending_.assign(reinterpret_cast<const char*>(buf.data()) + consumed, n - consumed);
      }
    } else {
      pending_.append(reinterpret_cast<const char*>(buf.data()), n);
      size_t consumed = 0;
      ok = process_input(reinterpret_cast<uint8_t*>(pending_.data()), pending_.size(), consumed);
      if (ok && !finished_) {
        pending_.erase(0, consumed);
        if (pending_.empty() && pending_.capacity() > 4096) {
          std::string().swap(pending_);  // idle connections keep no buffer
        }
      }
    }
    if (!ok || finished_) {
      if (discard_input_) {
        std::string().swap(pending_);
      }
      return;
    }
    if (n < buf.size()) {
      break;
    }
  }
  wait_readable();
}

// Parses and handles every complete frame in [data, data+size). Returns false when the
// connection failed (reading stops).
bool WebSocketSession::process_input(uint8_t* data, size_t size, size_t& consumed) {
  size_t pos = 0;
  while (pos < size) {
    ws::FrameHeader h;
    auto r = ws::parse_header(data + pos, size - pos, h);
    if (r == ws::ParseResult::kNeedMore) {
      break;
    }
    if (r == ws::ParseResult::kInvalid || h.rsv != 0 || !h.masked) {
      fail_protocol(1002, "protocol error");
      return false;
    }
    const bool control = (h.opcode & 0x8) != 0;
    if (control) {
      if (h.opcode != ws::kClose && h.opcode != ws::kPing && h.opcode != ws::kPong) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      if (!h.fin || h.payload_len > 125) {
        fail_protocol(1002, "protocol error");
        return false;
      }
    } else {
      if (h.opcode != ws::kContinuation && h.opcode != ws::kText && h.opcode != ws::kBinary) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      if ((h.opcode == ws::kContinuation) != in_fragmented_) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      uint64_t total = h.payload_len + (in_fragmented_ ? message_.size() : 0);
      if (total > static_cast<uint64_t>(opts_.message_size_limit)) {
        // Checked before buffering the payload (client-protocol.md §2.4: close 1009).
        fail_protocol(1009, "message too big");
        return false;
      }
    }
    if (size - pos < h.header_len + h.payload_len) {
      break;
    }
    uint8_t* payload = data + pos + h.header_len;
    ws::unmask(payload, static_cast<size_t>(h.payload_len), h.mask);
    pos += h.header_len + static_cast<size_t>(h.payload_len);
    if (!handle_frame(h, payload)) {
      consumed = pos;
      return !finished_;
    }
    if (finished_) {
      return false;
    }
  }
  consumed = pos;
  return true;
}

bool WebSocketSession::handle_frame(const ws::FrameHeader& h, uint8_t* payload) {
  auto len = static_cast<size_t>(h.payload_len);
  std::string_view data(reinterpret_cast<const char*>(payload), len);
  switch (h.opcode) {
    case ws::kText:
    case ws::kBinary:
      if (!h.fin) {
        in_fragmented_ = true;
        message_opcode_ = h.opcode;
        message_.assign(data);
        return true;
      }
      if (!close_queued_ && client_) {
        client_->handle_frame(data);
      }
      return true;
    case ws::kContinuation:
      message_.append(data);
      if (h.fin) {
        in_fragmented_ = false;
        std::string msg = std::move(message_);
        message_.clear();
        if (!close_queued_ && client_) {
          client_->handle_frame(msg);
        }
      }
      return true;
    case ws::kPing:
      if (!close_queued_) {
        push_control(ws::kPong, data);
      }
      return true;
    case ws::kPong:
      return true;
    case ws::kClose: {
      if (close_sent_ || close_queued_) {
        // The peer answered our close (or closes at the same time): done.
        if (close_sent_) {
          finish();
          return false;
        }
        return true;
      }
      uint16_t code = 1000;
      if (len >= 2) {
        code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
      }
      if (client_) {
        client_->transport_closed();
      }
      peer_closed_ = true;
      enqueue_close(len >= 2 ? code : 1000, "");
      return false;
    }
    default:
      return true;
  }
}

void WebSocketSession::fail_protocol(uint16_t code, std::string_view reason) {
  if (discard_input_) {
    return;
  }
  discard_input_ = true;
  if (client_) {
    client_->transport_closed();
  }
  clear_out(true);
  queued_bytes_ = 0;
  close_queued_ = false;
  enqueue_close(code, reason);
}

// ------------------------------------------------------------------- writing

namespace {
// Drained output queues of this shard, reused: busy connections do not allocate per turn and
// idle ones hold no queue storage.
template <typename V>
std::vector<V>& queue_pool() {
  thread_local std::vector<V> pool;
  return pool;
}
}  // namespace

WebSocketSession::Chunk& WebSocketSession::push_chunk() {
  if (out_.capacity() == 0) {
    auto& pool = queue_pool<std::vector<Chunk>>();
    if (!pool.empty()) {
      out_ = std::move(pool.back());
      pool.pop_back();
    }
  }
  return out_.emplace_back();
}

void WebSocketSession::release(Chunk& c) {
  if (c.slot != nullptr) {
    if (--c.slot->refs == 0) {
      // May destroy the Fanout (and the slot): nothing touches the slot after this.
      auto keep = std::move(c.slot->keep);
    }
    c.slot = nullptr;
    c.frame = nullptr;
  }
}

void WebSocketSession::pop_front_chunk() {
  release(out_[head_]);
  ++head_;
  if (head_ == out_.size()) {
    out_.clear();
    head_ = 0;
    auto& pool = queue_pool<std::vector<Chunk>>();
    if (pool.size() < kMaxPooledQueues && out_.capacity() <= 64) {
      pool.push_back(std::move(out_));
    }
    out_ = std::vector<Chunk>();
  }
}

void WebSocketSession::clear_out(bool keep_partial_front) {
  size_t keep = keep_partial_front && !out_empty() && out_[head_].sent > 0 ? 1 : 0;
  while (out_.size() > head_ + keep) {
    release(out_.back());
    out_.pop_back();
  }
  if (out_empty()) {
    out_ = std::vector<Chunk>();
    head_ = 0;
  }
}

void WebSocketSession::send(std::string message) {
  if (close_queued_ || finished_) {
    return;
  }
  const bool json = opts_.protocol == protocol::ProtocolType::kJson;
  size_t added = message.size();
  Chunk* last = out_empty() ? nullptr : &out_.back();
  if (last != nullptr && last->open && last->sent == 0 && last->messages < kMaxMessagesPerFrame) {
    if (json) {
      last->owned += '\n';
      ++added;
      last->owned.append(message);
    } else {
      size_t before = last->owned.size();
      append_varint(last->owned, message.size());
      last->owned.append(message);
      added = last->owned.size() - before;
    }
    ++last->messages;
  } else {
    seal_open_chunk();
    Chunk& c = push_chunk();
    c.open = true;
    c.messages = 1;
    if (json) {
      c.owned = std::move(message);
    } else {
      append_varint(c.owned, message.size());
      c.owned.append(message);
      added = c.owned.size();
    }
  }
  queued_bytes_ += added;
  if (static_cast<int64_t>(queued_bytes_) > opts_.queue_max_size) {
    if (client_) {
      client_->disconnect(disconnects::slow());
    }
    return;
  }
  schedule_flush();
}

namespace {

// Encodes the push for one protocol and form, unframed.
std::string encode_push(const hub::Fanout& f, const protocol::Codec& codec,
                        hub::Fanout::Form form) {
  std::string msg;
  switch (f.kind) {
    case hub::Fanout::Kind::kPublication:
      if (form == hub::Fanout::Form::kDeltaPatch) {
        codec.encode_pub_delta_form(msg, f.channel, *f.pub, f.patch, true, false);
      } else if (form == hub::Fanout::Form::kDeltaFull &&
                 codec.type() == protocol::ProtocolType::kJson) {
        codec.encode_pub_delta_form(msg, f.channel, *f.pub, f.pub->data, false, false);
      } else {
        codec.encode_pub(msg, f.channel, *f.pub, false);
      }
      break;
    case hub::Fanout::Kind::kJoin:
      codec.encode_join(msg, f.channel, f.info, false);
      break;
    case hub::Fanout::Kind::kLeave:
      codec.encode_leave(msg, f.channel, f.info, false);
      break;
  }
  return msg;
}

void frame_into(std::string& out, std::string_view body, uint8_t opcode) {
  uint8_t hdr[ws::kMaxHeader];
  size_t n = ws::write_header(hdr, opcode, body.size());
  out.reserve(n + body.size());
  out.append(reinterpret_cast<const char*>(hdr), n);
  out.append(body);
}

}  // namespace

void WebSocketSession::send_shared(const std::shared_ptr<const hub::Fanout>& f,
                                   hub::Fanout::Form form) {
  if (close_queued_ || finished_) {
    return;
  }
  seal_open_chunk();
  hub::Fanout::ShardSlot& slot = f->slot(shard_id_);
  // Framed once per shard, protocol and form: server frames are unmasked, so the same bytes
  // suit every subscriber that needs that form.
  const bool json = opts_.protocol == protocol::ProtocolType::kJson;
  std::string* frame = nullptr;
  if (json) {
    frame = form == hub::Fanout::Form::kPlain       ? &slot.ws_frame
            : form == hub::Fanout::Form::kDeltaFull ? &slot.ws_delta_full
                                                    : &slot.ws_delta_patch;
    if (frame->empty()) {
      if (form == hub::Fanout::Form::kPlain) {
        frame_into(*frame, f->json, ws::kText);
      } else {
        frame_into(*frame, encode_push(*f, codec(), form), ws::kText);
      }
    }
  } else {
    frame = form == hub::Fanout::Form::kDeltaPatch ? &slot.ws_pb_patch : &slot.ws_pb_frame;
    if (frame->empty()) {
      std::string msg = encode_push(*f, codec(), form);
      std::string body;
      append_varint(body, msg.size());
      body.append(msg);
      frame_into(*frame, body, ws::kBinary);
    }
  }
  if (slot.refs++ == 0) {
    slot.keep = f;
  }
  Chunk& c = push_chunk();
  c.slot = &slot;
  c.frame = frame;
  queued_bytes_ += frame->size();
  if (static_cast<int64_t>(queued_bytes_) > opts_.queue_max_size) {
    if (client_) {
      client_->disconnect(disconnects::slow());
    }
    return;
  }
  schedule_flush();
}

void WebSocketSession::seal_open_chunk() {
  if (!out_empty()) {
    seal(out_.back());
  }
}

void WebSocketSession::seal(Chunk& c) {
  if (!c.open) {
    return;
  }
  c.open = false;
  uint8_t op = opts_.protocol == protocol::ProtocolType::kJson ? ws::kText : ws::kBinary;
  c.header_len = static_cast<uint8_t>(ws::write_header(c.header, op, c.owned.size()));
}

void WebSocketSession::push_control(uint8_t opcode, std::string_view payload) {
  seal_open_chunk();
  Chunk& c = push_chunk();
  c.header_len = static_cast<uint8_t>(ws::write_header(c.header, opcode, payload.size()));
  c.owned.assign(payload);
  queued_bytes_ += c.owned.size();
  schedule_flush();
}

void WebSocketSession::close(const Disconnect& d) {
  if (finished_ || close_queued_) {
    return;
  }
  if (d.code == disconnects::slow().code) {
    // Queued messages are not flushed after 3008 (client-protocol.md §2.5); a frame already
    // partly written must still be completed to keep the stream valid.
    clear_out(true);
    queued_bytes_ = 0;
  }
  enqueue_close(static_cast<uint16_t>(d.code), d.reason);
}

void WebSocketSession::enqueue_close(uint16_t code, std::string_view reason) {
  if (close_queued_ || finished_) {
    return;
  }
  seal_open_chunk();
  close_queued_ = true;
  Chunk& c = push_chunk();
  c.owned = ws::close_frame(code, reason);  // header included
  queued_bytes_ += c.owned.size();
  schedule_flush();
}

void WebSocketSession::schedule_flush() {
  if (dirty_ || writing_ || finished_) {
    return;
  }
  dirty_ = true;
  tl_io.dirty.push_back(shared_from_this());
  if (!tl_io.loop_driven && !tl_io.flush_posted) {
    tl_io.flush_posted = true;
    asio::post(socket_.get_executor(), [] { flush_dirty(); });
  }
}

size_t WebSocketSession::flush_dirty() {
  tl_io.flush_posted = false;
  if (tl_io.dirty.empty()) {
    return 0;
  }
  auto dirty = std::move(tl_io.dirty);
  tl_io.dirty.clear();
  for (auto& s : dirty) {
    s->dirty_ = false;
    s->flush();
  }
  size_t n = dirty.size();
  // Keep the vector's capacity for the next turn.
  dirty.clear();
  if (tl_io.dirty.empty()) {
    tl_io.dirty.swap(dirty);
  }
  return n;
}

void WebSocketSession::set_loop_driven_flush(bool on) { tl_io.loop_driven = on; }

void WebSocketSession::flush() {
  if (finished_ || writing_) {
    return;
  }
  std::array<asio::const_buffer, kMaxIov> iov;
  while (!out_empty()) {
    size_t n_iov = 0;
    for (size_t k = head_; k < out_.size() && n_iov + 2 <= kMaxIov; ++k) {
      Chunk& c = out_[k];
      seal(c);
      std::string_view body = c.frame != nullptr ? std::string_view(*c.frame)
                                                 : std::string_view(c.owned);
      size_t sent = c.sent;
      if (sent < c.header_len) {
        iov[n_iov++] = asio::buffer(c.header + sent, c.header_len - sent);
        sent = c.header_len;
      }
      size_t body_off = sent - c.header_len;
      if (body_off < body.size()) {
        iov[n_iov++] = asio::buffer(body.data() + body_off, body.size() - body_off);
      }
    }
    error_code ec;
    size_t written = socket_.write_some(std::span<const asio::const_buffer>(iov.data(), n_iov), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      writing_ = true;
      arm_timer(opts_.write_timeout, &WebSocketSession::on_write_timeout);
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](error_code ec2) {
                           self->writing_ = false;
                           if (ec2) {
                             self->finish();
                             return;
                           }
                           ++self->timer_gen_;  // disarm the write timeout
                           self->flush();
                         });
      return;
    }
    if (ec) {
      finish();
      return;
    }
    while (written > 0 && !out_empty()) {
      Chunk& c = out_[head_];
      size_t left = c.size() - c.sent;
      if (written < left) {
        c.sent += static_cast<uint32_t>(written);
        break;
      }
      written -= left;
      size_t body = c.body_size();
      queued_bytes_ = queued_bytes_ >= body ? queued_bytes_ - body : 0;
      pop_front_chunk();
    }
  }
  on_written_all();
}

void WebSocketSession::on_written_all() {
  if (!close_queued_ || close_sent_) {
    return;
  }
  close_sent_ = true;
  if (peer_closed_) {
    finish();
    return;
  }
  // Wait for the client's close frame or EOF, at most 5 s, then drop TCP.
  arm_timer(kCloseWait, &WebSocketSession::on_close_timeout);
  wait_readable();
}

void WebSocketSession::arm_timer(std::chrono::milliseconds after, void (WebSocketSession::*fn)()) {
  if (!timer_) {
    timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  }
  uint64_t gen = ++timer_gen_;
  timer_->expires_after(after);
  timer_->async_wait([self = shared_from_this(), gen, fn](error_code ec) {
    if (ec || gen != self->timer_gen_ || self->finished_) {
      return;
    }
    ((*self).*fn)();
  });
}

void WebSocketSession::on_write_timeout() {
  if (writing_) {
    // The peer does not read: 3009 write error; the close frame cannot be written either.
    if (client_) {
      client_->transport_closed();
    }
    finish();
  }
}

void WebSocketSession::on_close_timeout() { finish(); }

void WebSocketSession::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  clear_out(false);
  queued_bytes_ = 0;
  if (timer_) {
    timer_->cancel();
  }
  if (client_) {
    client_->transport_closed();
    // Released on a later turn: finish() may run inside a call chain that holds the client.
    asio::post(socket_.get_executor(), [c = std::move(client_)] {});
  }
}

}  // namespace gyre::transport
