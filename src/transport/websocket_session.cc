#include "transport/websocket_session.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cassert>
#include <span>
#include <utility>
#include <vector>

#include "core/prefetch.h"
#include "node/node.h"
#include "transport/websocket_session_internal.h"
#include "transport/ws_deflate.h"

namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t kMaxIov = 256;
constexpr auto kCloseWait = std::chrono::seconds(5);

// Drained output queues kept per shard: at most this many chunks of storage (~19 MB), each
// queue at most kMaxPooledQueue chunks.
constexpr size_t kPooledChunks = 4096 * 64;
constexpr size_t kMaxPooledQueue = 1024;

WebSocketShards* g_shards = nullptr;  // set once at startup, before the shard threads run

}  // namespace

namespace {
std::atomic<size_t> g_live_sessions{0};
// uni_websocket native ping period and pong wait: written once at startup, read-only after.
std::chrono::milliseconds g_uni_ping_interval{25000};
std::chrono::milliseconds g_uni_pong_wait{25000 / 9};
// client_write_delay & co.: written once at startup, read-only after. Coalescing itself is
// off until a shard's loop drives the flush (set_loop_driven_flush).
CoalescingOptions g_coalescing;

bool frame_has_room(uint32_t messages) {
  uint32_t max = g_coalescing.max_messages_in_frame;
  return max == 0 || messages < max;
}

// Bytes of a server frame's header (unmasked): 2, 4 or 10.
size_t server_header_len(const std::string& frame) {
  uint8_t len7 = static_cast<uint8_t>(frame[1]) & 0x7F;
  return len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
}
}  // namespace

void WebSocketSession::set_write_coalescing(const CoalescingOptions& o) { g_coalescing = o; }

const CoalescingOptions& WebSocketSession::write_coalescing() { return g_coalescing; }

void WebSocketSession::loop_idle() {
  auto& io = WebSocketShards::local();
  if (io.policy.enabled()) {
    io.policy.loop_idle(coalescing_now_us());
  }
}

void WebSocketSession::loop_busy() {
  auto& io = WebSocketShards::local();
  if (io.policy.enabled()) {
    io.policy.loop_busy(coalescing_now_us());
  }
}

const CoalescingStats& WebSocketSession::coalescing_stats() {
  return WebSocketShards::local().stats;
}

uint64_t WebSocketSession::write_window_us() {
  auto& io = WebSocketShards::local();
  return io.policy.enabled() ? io.policy.window_us() : 0;
}

uint64_t WebSocketSession::hold_deadline_us() {
  auto& io = WebSocketShards::local();
  return io.held.earliest_us();
}

WebSocketShards::WebSocketShards(ShardSet& shards)
    : io_(shards, [](unsigned) { return std::make_unique<Io>(); }) {
  assert(g_shards == nullptr && "one WebSocketShards per process");
  g_shards = this;
}

WebSocketShards::~WebSocketShards() { g_shards = nullptr; }

WebSocketShards::Io* WebSocketShards::local_if_installed() {
  return g_shards != nullptr ? g_shards->io_.local_if_any() : nullptr;
}

WebSocketShards::Io& WebSocketShards::local() {
  assert(g_shards != nullptr && "WebSocketShards not installed");
  return g_shards->io_.local();
}

void WebSocketSession::set_uni_native_ping(std::chrono::milliseconds interval,
                                           std::chrono::milliseconds timeout) {
  g_uni_ping_interval = interval;
  g_uni_pong_wait = timeout;
}

size_t WebSocketSession::live_sessions() { return g_live_sessions.load(std::memory_order_relaxed); }

WebSocketSession::WebSocketSession(ByteStream socket, WebSocketOptions opts)
    : socket_(std::move(socket)), opts_(opts) {
  g_live_sessions.fetch_add(1, std::memory_order_relaxed);
  if (Shard* s = Shard::current()) {
    shard_id_ = s->id();
  }
  error_code ec;
  socket_.socket().non_blocking(true, ec);
  socket_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  // Readiness from the shard's own epoll set from here on (a failure closes the connection:
  // the first read fails and the session finishes).
  socket_.attach(ec);
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
  if (opts_.unidirectional) {
    return {"uni_websocket", true, false, true};
  }
  return {"websocket", false, false, !opts_.frame_ping_pong};
}

void WebSocketSession::start_unidirectional(node::Node& node, node::ConnectionRequest request,
                                            std::optional<protocol::ConnectRequest> req,
                                            std::string initial) {
  // Centrifugo's uni_websocket sends protocol-level pings every 25 s and drops a client whose
  // pong has not come within its read deadline (pongWait = 25 s * 10 / 9 after the last one).
  native_ping_start(g_uni_ping_interval, g_uni_pong_wait);
  if (req) {
    uni_connect_seen_ = true;
    client_ = std::make_shared<node::Client>(node, this, std::move(request));
    client_->open();
    client_->connect_unidirectional(std::move(*req));
    if (finished_) {
      return;
    }
    // Client messages are read and discarded from here on.
    read_from(std::move(initial));
    return;
  }
  start(node, std::move(request), std::move(initial));
}

void WebSocketSession::start(node::Node& node, node::ConnectionRequest request,
                             std::string initial) {
  client_ = std::make_shared<node::Client>(node, this, std::move(request));
  client_->open();
  if (opts_.frame_ping_pong && !finished_) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto& cfg = *node.config();
    native_ping_start(cfg.ping_interval.count() > 0
                          ? duration_cast<milliseconds>(cfg.ping_interval)
                          : milliseconds(25000),
                      cfg.pong_timeout.count() > 0 ? duration_cast<milliseconds>(cfg.pong_timeout)
                                                   : milliseconds(10000));
  }
  read_from(std::move(initial));
}

void WebSocketSession::read_from(std::string initial) {
  // Bytes that came with the upgrade request are the first input; then the socket.
  if (!initial.empty()) {
    pending_ = std::make_unique<std::string>(std::move(initial));
    size_t consumed = 0;
    bool ok = process_input(reinterpret_cast<uint8_t*>(pending_->data()), pending_->size(),
                            consumed);
    if (!ok || finished_) {
      return;
    }
    pending_->erase(0, consumed);
    if (pending_->empty()) {
      pending_.reset();
    }
  }
  wait_readable();
}

void WebSocketSession::reject(const Disconnect& d) {
  enqueue_close(static_cast<uint16_t>(d.code), d.reason);
  wait_readable();
}

// ------------------------------------------------------------------- writing

namespace {
// Drained output queues of this shard, reused: busy connections do not allocate per turn and
// idle ones hold no queue storage.
template <typename V>
struct QueuePool {
  std::vector<std::vector<V>> queues;
  size_t capacity = 0;  // elements of storage held by `queues`
};
template <typename V>
QueuePool<V>& queue_pool() {
  thread_local QueuePool<V> pool;
  return pool;
}
}  // namespace

WebSocketSession::Chunk& WebSocketSession::push_chunk() {
  if (out_.capacity() == 0) {
    auto& pool = queue_pool<Chunk>();
    if (!pool.queues.empty()) {
      out_ = std::move(pool.queues.back());
      pool.queues.pop_back();
      pool.capacity -= out_.capacity();
    }
  }
  return out_.emplace_back();
}

void WebSocketSession::release(Chunk& c) {
  if (c.slot != nullptr) {
    // May destroy the Fanout (and the slot): nothing touches the slot after this.
    std::exchange(c.slot, nullptr)->release();
    c.frame = nullptr;
  }
}

void WebSocketSession::pop_front_chunk() {
  release(out_[head_]);
  ++head_;
  if (head_ == out_.size()) {
    out_.clear();
    head_ = 0;
    // Queues of held connections grow to a window's pushes (~100 under load); they are kept
    // whatever their size, up to a budget per shard, or the next window regrows each of them
    // from one element with a reallocation per doubling.
    auto& pool = queue_pool<Chunk>();
    if (pool.capacity + out_.capacity() <= kPooledChunks && out_.capacity() <= kMaxPooledQueue) {
      pool.capacity += out_.capacity();
      pool.queues.push_back(std::move(out_));
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

WebSocketSession::Chunk* WebSocketSession::joinable_tail() {
  if (out_empty()) {
    return nullptr;
  }
  Chunk& last = out_.back();
  if (last.sent != 0 || !frame_has_room(last.messages)) {
    return nullptr;
  }
  if (last.open) {
    return &last;
  }
  // An unsent shared push (not compressed, not uni_websocket's bare push) becomes an owned
  // frame that further messages join: its bytes are copied once.
  if (last.slot == nullptr || opts_.deflate || opts_.unidirectional ||
      !g_coalescing.join_pushes) {
    return nullptr;
  }
  size_t h = server_header_len(*last.frame);
  last.owned.reserve(std::max<size_t>(1024, 2 * last.frame->size()));
  last.owned.assign(*last.frame, h);
  queued_bytes_ -= std::min(queued_bytes_, h);
  release(last);
  last.open = true;
  last.messages = 1;
  last.header_len = 0;
  return &last;
}

void WebSocketSession::send(std::string message) {
  if (close_queued_ || finished_) {
    return;
  }
  const bool json = opts_.protocol == protocol::ProtocolType::kJson;
  size_t added = message.size();
  Chunk* last = joinable_tail();
  if (last != nullptr) {
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
  schedule_flush(reply_is_urgent(g_coalescing));
}

void WebSocketSession::send_shared(const std::shared_ptr<const hub::Fanout>& f,
                                   hub::Fanout::Form form) {
  if (close_queued_ || finished_) {
    return;
  }
  WebSocketShards::local().pushed = true;
  SharedFrames& slot = shared_frames(*f, shard_id_);
  // Framed once per shard, protocol and form: server frames are unmasked, so the same bytes
  // suit every subscriber that needs that form.
  const std::string* frame =
      &shared_ws_frame(*f, shard_id_, opts_.protocol, form, opts_.unidirectional);
  if (opts_.deflate) {
    using D = SharedFrames;
    using F = hub::Fanout::Form;
    const bool json = opts_.protocol == protocol::ProtocolType::kJson;
    // uni_websocket_compression: the bare Push frame has its own compressed variant.
    D::Deflated which = opts_.unidirectional ? D::kZUni
                        : json ? (form == F::kPlain       ? D::kZFrame
                                  : form == F::kDeltaFull ? D::kZDeltaFull
                                                          : D::kZDeltaPatch)
                               : (form == F::kDeltaPatch ? D::kZPbPatch : D::kZPbFrame);
    frame = deflated_frame(slot, frame, which);
  } else if (Chunk* tail = opts_.unidirectional || !g_coalescing.join_pushes
                                ? nullptr
                                : joinable_tail()) {
    // client_max_messages_in_frame: a push queued behind an unsent data frame joins it (JSON
    // lines, or Protobuf's varint-delimited messages), as Centrifuge's writer merges queued
    // messages. The push's bytes are copied.
    Chunk& last = *tail;
    {  // NOLINT(readability-braces-around-statements): scope of the join
      const bool json = opts_.protocol == protocol::ProtocolType::kJson;
      size_t h = server_header_len(*frame);
      size_t added = frame->size() - h;
      if (json) {
        last.owned += '\n';
        ++added;
      }
      last.owned.append(*frame, h);
      ++last.messages;
      queued_bytes_ += added;
      if (static_cast<int64_t>(queued_bytes_) > opts_.queue_max_size) {
        if (client_) {
          client_->disconnect(disconnects::slow());
        }
        return;
      }
      schedule_flush();
      return;
    }
  }
  seal_open_chunk();
  slot.acquire(f);
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

void WebSocketSession::prefetch_output() const {
  // send_shared() reads the last queued chunk (seal_open_chunk) and writes the next one.
  if (!out_empty()) {
    const Chunk* last = &out_.back();
    __builtin_prefetch(last);
    if (out_.size() < out_.capacity()) {
      __builtin_prefetch(last + 1, 1);
    }
  }
}

const std::string* WebSocketSession::deflated_frame(SharedFrames& slot,
                                                    const std::string* plain,
                                                    SharedFrames::Deflated which) {
  ws::FrameHeader h;
  auto r = ws::parse_header(reinterpret_cast<const uint8_t*>(plain->data()), plain->size(), h);
  (void)r;
  std::string_view body = std::string_view(*plain).substr(h.header_len);
  if (!compresses(body.size())) {
    return plain;
  }
  if (!slot.deflated) {
    slot.deflated =
        std::make_unique<std::array<std::string, SharedFrames::kNumDeflated>>();
  }
  std::string& z = (*slot.deflated)[which];
  if (z.empty()) {
    // Compressed once per shard and form: without context takeover the bytes are the same for
    // every subscriber.
    std::string payload;
    ws::deflate_message(payload, body, opts_.compression_level);
    frame_into(z, payload, h.opcode);
    z[0] = static_cast<char>(static_cast<uint8_t>(z[0]) | ws::kRsv1);
  }
  return &z;
}

bool WebSocketSession::compresses(size_t payload_size) const {
  // Centrifuge compresses a write when its length is above the minimum (strictly); 0 = all.
  return opts_.compression_min_size <= 0 ||
         payload_size > static_cast<size_t>(opts_.compression_min_size);
}

void WebSocketSession::compress_owned(Chunk& c) {
  std::string z;
  ws::deflate_message(z, c.owned, opts_.compression_level);
  queued_bytes_ = queued_bytes_ + z.size() >= c.owned.size()
                      ? queued_bytes_ + z.size() - c.owned.size()
                      : 0;
  c.owned = std::move(z);
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
  const bool compress = opts_.deflate && compresses(c.owned.size());
  if (compress) {
    compress_owned(c);
  }
  c.header_len = static_cast<uint8_t>(ws::write_header(c.header, op, c.owned.size()));
  if (compress) {
    c.header[0] |= ws::kRsv1;
  }
}

void WebSocketSession::push_control(uint8_t opcode, std::string_view payload) {
  seal_open_chunk();
  Chunk& c = push_chunk();
  c.header_len = static_cast<uint8_t>(ws::write_header(c.header, opcode, payload.size()));
  c.owned.assign(payload);
  queued_bytes_ += c.owned.size();
  schedule_flush(true);  // control frames (ping, pong) never wait for a coalescing window
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
  if (opts_.unidirectional && d.code != disconnects::connection_closed().code) {
    // uni_websocket conveys the disconnect as a push too (client-protocol.md §8.3.1).
    std::string push;
    protocol::json_codec().encode_disconnect(push, d, true);
    send(std::move(push));
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
  schedule_flush(true);  // a held connection closes now, with what is queued before
}

void WebSocketSession::schedule_flush(bool urgent) {
  if (writing_ || finished_) {
    return;
  }
  urgent_ = urgent_ || urgent;
  if (dirty_ || (held_ && !urgent_)) {
    return;  // flushed this turn, or when the hold ends
  }
  dirty_ = true;
  auto& io = WebSocketShards::local();
  io.dirty.push_back(shared_from_this());
  if (!io.loop_driven && !io.flush_posted) {
    io.flush_posted = true;
    asio::post(socket_.get_executor(), [] { flush_dirty(); });
  }
}

bool WebSocketSession::on_hold_end(void* self, uint32_t stamp) {
  auto* s = static_cast<WebSocketSession*>(self);
  // Not held any more, or written since this entry was queued (then held_ belongs to a newer
  // entry): a stale entry.
  if (!s->held_ || s->last_write_us_ != stamp) {
    return false;
  }
  s->held_ = false;
  s->flush();
  return true;
}

namespace {
// A flush that wrote connections ends: its duration feeds the adaptive window.
void flushed(WebSocketShards::Io& io) {
  uint64_t end = coalescing_now_us();
  io.policy.flush_took(end - io.now_us);
  io.last_flush_start_us = io.now_us;
  io.last_flush_end_us = end;
}
}  // namespace

size_t WebSocketSession::flush_dirty() {
  auto& io = WebSocketShards::local();
  io.flush_posted = false;
  const bool coalesce = io.policy.enabled();
  size_t n = 0;
  if (coalesce) {
    io.now_us = coalescing_now_us();
    io.policy.output_written(io.ws_writes, io.ws_frames);
    io.policy.loop_busy(io.now_us);
    if (io.pushed) {
      io.pushed = false;
      io.policy.pushes_queued(io.now_us);
    }
    n += io.held.release_due(io.now_us);
  }
  if (io.dirty.empty()) {
    if (n != 0) {
      flushed(io);
    }
    return n;
  }
  auto dirty = std::move(io.dirty);
  io.dirty.clear();
  for (size_t k = 0; k < dirty.size(); ++k) {
    auto& s = dirty[k];
    if (k + 1 < dirty.size()) {
      // Written (or held) next: fetch its session's lines while this one is written.
      core::prefetch_lines(dirty[k + 1].get(), sizeof(WebSocketSession));
    }
    s->dirty_ = false;
    if (coalesce && !s->urgent_ && !s->close_queued_) {
      uint64_t until = io.policy.hold_until(io.now_us, io.effective_last_write(s->last_write_us_),
                                            !s->written_, s->queued_bytes_);
      if (until != 0) {
        if (!s->held_) {
          s->held_ = true;
          io.hold(until, s, &WebSocketSession::on_hold_end, s->last_write_us_);
        }
        continue;
      }
    }
    s->held_ = false;
    s->urgent_ = false;
    s->flush();
    ++n;
  }
  if (coalesce && n != 0) {
    flushed(io);
  }
  // Keep the vector's capacity for the next turn.
  dirty.clear();
  if (io.dirty.empty()) {
    io.dirty.swap(dirty);
  }
  return n;
}

void WebSocketSession::set_loop_driven_flush(bool on) {
  auto& io = WebSocketShards::local();
  io.loop_driven = on;
  io.policy = on ? CoalescingPolicy(g_coalescing) : CoalescingPolicy();
}

void WebSocketSession::flush() {
  if (finished_ || writing_) {
    return;
  }
  held_ = false;  // a pending hold entry is stale from here on
  urgent_ = false;
  std::array<asio::const_buffer, kMaxIov> iov;
  // TLS: ciphertext the socket did not take is flushed before the session counts as written.
  while (!out_empty() || socket_.pending_output()) {
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
    auto& shard_io = WebSocketShards::local();
    ++shard_io.stats.writes;
    ++shard_io.ws_writes;
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      writing_ = true;
      arm_timer(opts_.write_timeout, &WebSocketSession::on_write_timeout);
      socket_.wait(Readiness::kWrite, as_waiter());  // on_ready
      return;
    }
    if (ec) {
      finish();
      return;
    }
    written_ = true;
    last_write_us_ = static_cast<uint32_t>(shard_io.now_us);
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
      ++shard_io.ws_frames;
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

void WebSocketSession::native_ping_start(std::chrono::milliseconds interval,
                                         std::chrono::milliseconds timeout) {
  native_ping_ = std::make_unique<NativePing>(socket_.get_executor());
  native_ping_->interval = interval;
  native_ping_->timeout = timeout;
  native_ping_arm(interval, false);
}

void WebSocketSession::native_ping_arm(std::chrono::milliseconds after, bool check) {
  native_ping_->timer.expires_after(after);
  native_ping_->timer.async_wait([self = shared_from_this(), check](error_code ec) {
    if (ec || self->finished_ || !self->native_ping_) {
      return;
    }
    self->native_ping_fire(check);
  });
}

void WebSocketSession::native_ping_fire(bool check) {
  if (close_queued_) {
    return;
  }
  NativePing& p = *native_ping_;
  if (check) {
    if (p.awaiting_pong) {
      // Centrifuge's read deadline passed: the read loop ends and the connection is closed
      // with "connection closed" (3000), which sends no close frame.
      if (client_) {
        client_->transport_closed();
      }
      finish();
      return;
    }
    native_ping_arm(p.interval > p.timeout ? p.interval - p.timeout
                                            : std::chrono::milliseconds(0),
                    false);
    return;
  }
  push_control(ws::kPing, "");
  p.awaiting_pong = true;
  native_ping_arm(p.timeout, true);
}

void WebSocketSession::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  socket_.close();
  clear_out(false);
  queued_bytes_ = 0;
  if (timer_) {
    timer_->cancel();
  }
  if (native_ping_) {
    native_ping_->timer.cancel();
  }
  if (client_) {
    client_->transport_closed();
    // Released on a later turn: finish() may run inside a call chain that holds the client.
    asio::post(socket_.get_executor(), [c = std::move(client_)] {});
  }
}

}  // namespace gyre::transport
