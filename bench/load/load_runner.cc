#include "load/load_runner.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "load/jwt.h"
#include "load/pb_codec.h"
#include "load/proc_stats.h"
#include "load/wire_scan.h"

namespace gyre::bench {
namespace {

constexpr size_t kScratchSize = 256 * 1024;
constexpr int kMaxEvents = 1024;
constexpr int64_t kSecond = 1'000'000'000;
constexpr size_t kMaxCarry = kMaxWsFrame + 64 * 1024;

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string truncated(std::string_view s) {
  std::string out(s.substr(0, 160));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  return out;
}

}  // namespace

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

LoadRunner::LoadRunner(Options options) : o_(std::move(options)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  scratch_.resize(kScratchSize);
  ws_addr_.sin_family = AF_INET;
  ws_addr_.sin_port = htons(static_cast<uint16_t>(o_.port));
  inet_pton(AF_INET, o_.host.c_str(), &ws_addr_.sin_addr);
  pub_addr_ = ws_addr_;
  pub_addr_.sin_port = htons(static_cast<uint16_t>(o_.pub_port));
  for (int k = 0; k < o_.channels; ++k) {
    channel_names_.push_back("bench-" + std::to_string(k));
  }
  subs_per_channel_.assign(o_.channels, 0);
  std::string_view subprotocol = o_.protobuf ? "centrifuge-protobuf" : "";
  if (o_.target == Target::kNchan) {
    for (const auto& ch : channel_names_) {
      nchan_upgrades_.push_back(ws_upgrade_request(o_.host, o_.port, o_.ws_path + ch, ""));
    }
  } else {
    upgrade_request_ = ws_upgrade_request(o_.host, o_.port, o_.ws_path, subprotocol);
  }
  // Size the padding so that a typical payload (a current timestamp, a mid-run sequence) has
  // --payload-size bytes.
  std::string sample;
  append_payload(sample, monotonic_ns(), o_.messages / 2, "");
  padding_.assign(sample.size() < static_cast<size_t>(o_.payload_size)
                      ? static_cast<size_t>(o_.payload_size) - sample.size()
                      : 0,
                  'x');
  body_.reserve(64 * 1024);
  payload_.reserve(o_.payload_size + 64);
}

LoadRunner::~LoadRunner() {
  for (auto& c : conns_) {
    if (c.fd >= 0) {
      ::close(c.fd);
    }
  }
  if (epoll_fd_ >= 0) {
    ::close(epoll_fd_);
  }
}

uint32_t LoadRunner::next_mask() {
  // xorshift32: masking keys need not be cryptographic for a load tool.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  return mask_state_;
}

const std::string& LoadRunner::channel_name(int64_t seq) const {
  return channel_names_[static_cast<size_t>(seq % o_.channels)];
}

// ---------------------------------------------------------------------------------------------
// Connections

void LoadRunner::start_connect(Conn& c) {
  c.started_ns = monotonic_ns();
  if (c.role == Role::kSubscriber) {
    ++connecting_;
  }
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.state = State::kConnecting;
    fail(c, std::string("socket: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in& addr = (c.role == Role::kHttpPublisher || c.role == Role::kNatsPublisher)
                                ? pub_addr_
                                : ws_addr_;
  c.state = State::kConnecting;
  int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno != EINPROGRESS) {
    fail(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u32 = c.index;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = true;
}

void LoadRunner::set_want_out(Conn& c, bool want) {
  if (c.want_out == want || c.fd < 0) {
    return;
  }
  c.want_out = want;
  epoll_event ev{};
  ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u32 = c.index;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void LoadRunner::flush(Conn& c) {
  while (c.state != State::kClosed && c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_want_out(c, true);
      return;
    }
    fail(c, std::string("send: ") + std::strerror(errno));
    return;
  }
  if (c.state == State::kClosed) {
    return;
  }
  c.out.clear();
  c.out_off = 0;
  set_want_out(c, false);
}

void LoadRunner::fail(Conn& c, std::string_view why) {
  if (c.state == State::kClosed) {
    return;
  }
  if (first_error_.empty()) {
    first_error_ = truncated(why);
  }
  if (c.role == Role::kSubscriber) {
    if (c.state == State::kReady) {
      ++disconnects_;
      --subs_per_channel_[c.channel];
    } else {
      ++connect_failed_;
      --connecting_;
    }
  } else {
    if (c.state == State::kReady) {
      --publishers_ready_;
    }
    ++publishers_failed_;
    // Whatever this publisher had in flight will never be acknowledged.
    if (c.role == Role::kHttpPublisher) {
      for (uint32_t i = 0; i < c.inflight; ++i) {
        const Pending& p = c.ring[(c.ring_head + i) % c.ring.size()];
        for (uint32_t k = 0; k < p.count; ++k) {
          count_failed(p.first_seq + k);
        }
      }
    } else {
      // Client publish commands: their sequences are not tracked; assume channel 0's audience.
      for (uint32_t i = 0; i < c.inflight; ++i) {
        count_failed(0);
      }
    }
    c.inflight = 0;
  }
  if (c.fd >= 0) {
    ::close(c.fd);
    c.fd = -1;
  }
  c.state = State::kClosed;
  c.out = std::string();
  c.out_off = 0;
  c.stream = std::string();
}

void LoadRunner::on_event(Conn& c, uint32_t events) {
  if (c.state == State::kConnecting) {
    on_tcp_connected(c);
  } else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    on_readable(c);
  }
  if (c.state != State::kClosed && (events & EPOLLOUT) && c.out_off < c.out.size()) {
    flush(c);
  }
  if (c.state == State::kClosed) {
    c.in = std::string();
    c.ring = {};
  }
}

void LoadRunner::on_tcp_connected(Conn& c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail(c, std::string("connect: ") + std::strerror(err));
    return;
  }
  switch (c.role) {
    case Role::kSubscriber:
    case Role::kWsPublisher:
      c.state = State::kUpgrading;
      c.out += o_.target == Target::kNchan ? nchan_upgrades_[c.channel] : upgrade_request_;
      break;
    case Role::kHttpPublisher:
      c.ring.assign(static_cast<size_t>(o_.pipeline), Pending{});
      on_ready(c);
      break;
    case Role::kNatsPublisher:
      c.out += "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"gyre-load\"}\r\n";
      on_ready(c);
      break;
  }
  flush(c);
}

void LoadRunner::on_readable(Conn& c) {
  for (int round = 0; round < 8 && c.state != State::kClosed; ++round) {
    ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), 0);
    if (n > 0) {
      now_ns_ = monotonic_ns();
      char* data = scratch_.data();
      auto size = static_cast<size_t>(n);
      if (c.state == State::kUpgrading) {
        on_upgrade_bytes(c, data, size);
      } else if (c.role == Role::kHttpPublisher) {
        on_http_bytes(c, data, size);
      } else if (c.role == Role::kNatsPublisher) {
        on_nats_bytes(c, data, size);
      } else {
        feed_ws(c, data, size);
      }
      if (size < scratch_.size()) {
        break;
      }
      continue;
    }
    if (n == 0) {
      fail(c, "connection closed by peer");
      return;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(c, std::string("recv: ") + std::strerror(errno));
    }
    break;
  }
  if (c.state != State::kClosed && c.out_off < c.out.size()) {
    flush(c);
  }
}

void LoadRunner::on_upgrade_bytes(Conn& c, char* data, size_t size) {
  c.in.append(data, size);
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() > 16 * 1024) {
      fail(c, "oversized upgrade response");
    }
    return;
  }
  if (!c.in.starts_with("HTTP/1.1 101")) {
    fail(c, "upgrade refused: " + c.in.substr(0, c.in.find("\r\n")));
    return;
  }
  c.in.erase(0, end + 4);
  send_init(c);
  if (c.state != State::kClosed && !c.in.empty()) {
    size_t used = parse_ws_frames(c, c.in.data(), c.in.size());
    if (c.state != State::kClosed) {
      c.in.erase(0, used);
    }
  }
}

void LoadRunner::send_init(Conn& c) {
  if (o_.target == Target::kNchan) {
    on_ready(c);  // an Nchan WebSocket subscriber is subscribed once upgraded
    return;
  }
  c.state = State::kInit;
  if (o_.target == Target::kNats) {
    std::string cmd = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"gyre-load\"}\r\nSUB ";
    cmd += channel_names_[c.channel];
    cmd += " 1\r\nPING\r\n";
    send_ws(c, WsOpcode::kBinary, cmd);
    return;
  }
  bool subscriber = c.role == Role::kSubscriber;
  std::string user = (subscriber ? "bench-" : "bench-pub-") + std::to_string(c.index);
  std::string token = o_.insecure ? "" : connection_token(user, o_.hmac_secret);
  c.replies_pending = subscriber ? 2 : 1;
  std::string frame;
  if (o_.protobuf) {
    pb::append_connect(frame, 1, token, "gyre-load");
    if (subscriber) {
      pb::append_subscribe(frame, 2, channel_names_[c.channel]);
    }
    send_ws(c, WsOpcode::kBinary, frame);
    return;
  }
  // client-protocol.md §2.5: connect and subscribe may share a frame, as JS does.
  frame = "{\"connect\":{";
  if (!token.empty()) {
    frame += "\"token\":\"" + token + "\",";
  }
  frame += "\"name\":\"gyre-load\"},\"id\":1}";
  if (subscriber) {
    frame += "\n{\"subscribe\":{\"channel\":\"" + channel_names_[c.channel] + "\"},\"id\":2}";
  }
  send_ws(c, WsOpcode::kText, frame);
}

void LoadRunner::on_ready(Conn& c) {
  c.state = State::kReady;
  if (c.role == Role::kSubscriber) {
    ++connect_ok_;
    --connecting_;
    ++subs_per_channel_[c.channel];
    int64_t now = monotonic_ns();
    connect_hist_.record(static_cast<uint64_t>(now - c.started_ns));
    last_connect_ns_ = now;
  } else {
    ++publishers_ready_;
  }
}

void LoadRunner::send_ws(Conn& c, WsOpcode op, std::string_view payload) {
  if (c.state == State::kClosed) {
    return;
  }
  append_ws_frame(c.out, op, payload, next_mask());
}

// ---------------------------------------------------------------------------------------------
// Receive path

void LoadRunner::feed_ws(Conn& c, char* data, size_t size) {
  if (c.in.empty()) {
    size_t used = parse_ws_frames(c, data, size);
    if (c.state != State::kClosed && used < size) {
      c.in.assign(data + used, size - used);
    }
    return;
  }
  if (c.in.size() + size > kMaxCarry) {
    fail(c, "websocket frame too large");
    return;
  }
  c.in.append(data, size);
  size_t used = parse_ws_frames(c, c.in.data(), c.in.size());
  if (c.state != State::kClosed) {
    c.in.erase(0, used);
  }
}

size_t LoadRunner::parse_ws_frames(Conn& c, char* data, size_t size) {
  size_t pos = 0;
  while (pos < size && c.state != State::kClosed) {
    WsParse r = parse_ws_frame(data + pos, size - pos);
    if (r.status == WsParseStatus::kIncomplete) {
      break;
    }
    if (r.status == WsParseStatus::kError) {
      fail(c, "bad websocket frame");
      break;
    }
    pos += r.consumed;
    on_ws_frame(c, r.frame);
  }
  return pos;
}

void LoadRunner::on_ws_frame(Conn& c, const WsFrame& f) {
  std::string_view payload(f.payload, f.size);
  switch (f.opcode) {
    case WsOpcode::kClose: {
      int code = f.size >= 2 ? (static_cast<uint8_t>(f.payload[0]) << 8) |
                                   static_cast<uint8_t>(f.payload[1])
                             : 1005;
      std::string why = "websocket close " + std::to_string(code);
      if (f.size > 2) {
        why += " " + std::string(payload.substr(2));
      }
      fail(c, why);
      return;
    }
    case WsOpcode::kPing:
      send_ws(c, WsOpcode::kPong, payload);
      return;
    case WsOpcode::kPong:
      return;
    default:
      break;
  }
  switch (o_.target) {
    case Target::kGyre:
      if (o_.protobuf) {
        on_gyre_protobuf(c, payload);
      } else {
        on_gyre_json(c, payload);
      }
      break;
    case Target::kNchan:
      deliver(c, payload);
      break;
    case Target::kNats:
      on_nats_bytes(c, f.payload, f.size);
      break;
  }
}

void LoadRunner::on_gyre_json(Conn& c, std::string_view frame) {
  // client-protocol.md §2.2: the messages of one frame are joined with one newline byte.
  while (!frame.empty() && c.state != State::kClosed) {
    size_t nl = frame.find('\n');
    std::string_view line = frame.substr(0, nl);
    on_gyre_json_line(c, line);
    if (nl == std::string_view::npos) {
      break;
    }
    frame.remove_prefix(nl + 1);
  }
}

void LoadRunner::on_gyre_json_line(Conn& c, std::string_view line) {
  if (line == "{}") {
    send_ws(c, WsOpcode::kText, "{}");  // a ping (§3.2) is answered with a pong
    return;
  }
  if (!line.starts_with("{\"id\":")) {
    if (line.find("\"pub\"") != std::string_view::npos) {
      deliver(c, line);
    }
    return;  // join/leave/other pushes
  }
  bool error = line.find("\"error\"") != std::string_view::npos;
  if (c.state == State::kInit) {
    if (error) {
      fail(c, line);
    } else if (--c.replies_pending == 0) {
      on_ready(c);
    }
    return;
  }
  if (c.role == Role::kWsPublisher) {
    uint32_t id = 0;
    std::from_chars(line.data() + 6, line.data() + line.size(), id);
    on_publish_reply(c, id, error, line);
  }
}

void LoadRunner::on_gyre_protobuf(Conn& c, std::string_view frame) {
  while (!frame.empty() && c.state != State::kClosed) {
    auto item = pb::next_delimited(frame);
    if (!item) {
      fail(c, "bad protobuf frame");
      return;
    }
    frame.remove_prefix(item->consumed);
    if (item->message.empty()) {
      send_ws(c, WsOpcode::kBinary, std::string_view("\0", 1));  // ping -> pong (§10.2)
      continue;
    }
    auto r = pb::decode_reply(item->message);
    if (!r) {
      fail(c, "bad protobuf reply");
      return;
    }
    if (r->id == 0) {
      if (r->has_pub) {
        deliver(c, r->data);
      }
      continue;
    }
    std::string what = r->has_error ? "error code " + std::to_string(r->error_code) : "";
    if (c.state == State::kInit) {
      if (r->has_error) {
        fail(c, "protobuf reply " + what);
      } else if (--c.replies_pending == 0) {
        on_ready(c);
      }
      continue;
    }
    if (c.role == Role::kWsPublisher) {
      on_publish_reply(c, r->id, r->has_error, what);
    }
  }
}

void LoadRunner::on_nats_bytes(Conn& c, char* data, size_t size) {
  // NATS is a byte stream: nats-server may cut a MSG between WebSocket frames.
  if (c.stream.empty()) {
    size_t used = parse_nats_items(c, std::string_view(data, size));
    if (c.state != State::kClosed && used < size) {
      c.stream.assign(data + used, size - used);
    }
    return;
  }
  if (c.stream.size() + size > kMaxCarry) {
    fail(c, "nats item too large");
    return;
  }
  c.stream.append(data, size);
  size_t used = parse_nats_items(c, c.stream);
  if (c.state != State::kClosed) {
    c.stream.erase(0, used);
  }
}

size_t LoadRunner::parse_nats_items(Conn& c, std::string_view data) {
  size_t pos = 0;
  while (pos < data.size() && c.state != State::kClosed) {
    NatsItem it = parse_nats(data.substr(pos));
    if (it.status == NatsItem::kIncomplete) {
      break;
    }
    if (it.status == NatsItem::kError) {
      fail(c, "bad nats protocol line");
      break;
    }
    pos += it.consumed;
    switch (it.kind) {
      case NatsKind::kMsg:
        deliver(c, it.payload);
        break;
      case NatsKind::kPing:
        if (c.role == Role::kNatsPublisher) {
          c.out += "PONG\r\n";
        } else {
          send_ws(c, WsOpcode::kBinary, "PONG\r\n");
        }
        break;
      case NatsKind::kPong:
        if (c.state == State::kInit) {
          on_ready(c);  // the PONG after SUB: the subscription is registered
        } else if (c.role == Role::kNatsPublisher && c.ping_sent) {
          c.flushed = true;
        }
        break;
      case NatsKind::kErr:
        fail(c, it.payload);
        break;
      default:
        break;
    }
  }
  return pos;
}

void LoadRunner::on_http_bytes(Conn& c, char* data, size_t size) {
  c.in.append(data, size);
  size_t pos = 0;
  while (c.state != State::kClosed) {
    HttpResponse r = parse_http_response(std::string_view(c.in).substr(pos));
    if (r.status == HttpResponse::kIncomplete) {
      break;
    }
    if (r.status == HttpResponse::kError || c.inflight == 0) {
      fail(c, "bad or unexpected HTTP response");
      return;
    }
    pos += r.consumed;
    Pending p = c.ring[c.ring_head];
    c.ring_head = (c.ring_head + 1) % c.ring.size();
    --c.inflight;
    uint32_t errors = 0;
    if (r.code < 200 || r.code > 299) {
      errors = p.count;
    } else if (o_.target == Target::kGyre) {
      errors = static_cast<uint32_t>(
          std::min<size_t>(p.count, count_occurrences(r.body, "\"error\"")));
    }
    if (errors > 0 && first_error_.empty()) {
      first_error_ = truncated("publish: HTTP " + std::to_string(r.code) + " " +
                               std::string(r.body));
    }
    // Which items of a batch failed is not tracked: the last `errors` are counted.
    acked_ += p.count - errors;
    for (uint32_t k = p.count - errors; k < p.count; ++k) {
      count_failed(p.first_seq + k);
    }
    if (r.close) {
      fail(c, "publisher connection closed by server");
      return;
    }
  }
  if (c.state != State::kClosed) {
    c.in.erase(0, pos);
  }
}

void LoadRunner::on_publish_reply(Conn& c, uint32_t id, bool error, std::string_view what) {
  if (c.inflight > 0) {
    --c.inflight;
  }
  if (error) {
    if (first_error_.empty()) {
      first_error_ = truncated("publish: " + std::string(what));
    }
    count_failed(static_cast<int64_t>(id) - 1);
  } else {
    ++acked_;
  }
}

void LoadRunner::deliver(Conn& c, std::string_view payload) {
  Stamp st = find_stamp(payload);
  if (!st.ok) {
    ++unparsed_;
    return;
  }
  int64_t latency = now_ns_ - st.t;
  latency_.record(latency > 0 ? static_cast<uint64_t>(latency) : 0);
  ++received_;
  if (first_delivery_ns_ == 0) {
    first_delivery_ns_ = now_ns_;
  }
  last_delivery_ns_ = now_ns_;
  if (st.s < c.last_seq) {
    ++out_of_order_;
  }
  c.last_seq = st.s;
}

// ---------------------------------------------------------------------------------------------
// Publishing

void LoadRunner::count_sent(int64_t seq) {
  expected_ += subs_per_channel_[static_cast<size_t>(seq % o_.channels)];
}

void LoadRunner::count_failed(int64_t seq) {
  ++publish_failed_;
  if (seq >= 0) {
    expected_ -= subs_per_channel_[static_cast<size_t>(seq % o_.channels)];
  }
}

void LoadRunner::append_http_publish(Conn& c, int64_t first_seq, uint32_t count) {
  int64_t t = monotonic_ns();
  body_.clear();
  std::string_view path;
  std::string nchan_path;
  if (o_.target == Target::kNchan) {
    append_payload(body_, t, first_seq, padding_);
  } else if (count == 1 && o_.batch == 1) {
    body_ += "{\"channel\":\"";
    body_ += channel_name(first_seq);
    body_ += "\",\"data\":";
    append_payload(body_, t, first_seq, padding_);
    body_ += '}';
  } else {
    body_ += "{\"commands\":[";
    for (uint32_t k = 0; k < count; ++k) {
      body_ += k ? ",{\"publish\":{\"channel\":\"" : "{\"publish\":{\"channel\":\"";
      body_ += channel_name(first_seq + k);
      body_ += "\",\"data\":";
      append_payload(body_, t, first_seq + k, padding_);
      body_ += "}}";
    }
    body_ += "]}";
  }
  c.out += "POST ";
  c.out += o_.pub_path;
  if (o_.target == Target::kNchan) {
    c.out += channel_name(first_seq);
  } else {
    c.out += (count == 1 && o_.batch == 1) ? "/publish" : "/batch";
  }
  c.out += " HTTP/1.1\r\nHost: ";
  c.out += o_.host;
  c.out += ':';
  append_int(c.out, o_.pub_port);
  c.out += "\r\nContent-Type: application/json\r\n";
  if (!o_.api_key.empty()) {
    c.out += "X-API-Key: ";
    c.out += o_.api_key;
    c.out += "\r\n";
  }
  c.out += "Content-Length: ";
  append_int(c.out, static_cast<int64_t>(body_.size()));
  c.out += "\r\n\r\n";
  c.out += body_;
}

void LoadRunner::append_ws_publish(Conn& c, int64_t first_seq, uint32_t count) {
  int64_t t = monotonic_ns();
  body_.clear();
  for (uint32_t k = 0; k < count; ++k) {
    int64_t seq = first_seq + k;
    auto id = static_cast<uint32_t>(seq + 1);
    if (o_.protobuf) {
      payload_.clear();
      append_payload(payload_, t, seq, padding_);
      pb::append_publish(body_, id, channel_name(seq), payload_);
      continue;
    }
    if (k) {
      body_ += '\n';
    }
    body_ += "{\"publish\":{\"channel\":\"";
    body_ += channel_name(seq);
    body_ += "\",\"data\":";
    append_payload(body_, t, seq, padding_);
    body_ += "},\"id\":";
    append_int(body_, id);
    body_ += '}';
  }
  send_ws(c, o_.protobuf ? WsOpcode::kBinary : WsOpcode::kText, body_);
}

void LoadRunner::append_nats_publish(Conn& c, int64_t first_seq, uint32_t count) {
  int64_t t = monotonic_ns();
  for (uint32_t k = 0; k < count; ++k) {
    int64_t seq = first_seq + k;
    payload_.clear();
    append_payload(payload_, t, seq, padding_);
    c.out += "PUB ";
    c.out += channel_name(seq);
    c.out += ' ';
    append_int(c.out, static_cast<int64_t>(payload_.size()));
    c.out += "\r\n";
    c.out += payload_;
    c.out += "\r\n";
  }
}

void LoadRunner::pump_publisher(Conn& c) {
  if (c.state != State::kReady) {
    return;
  }
  auto take = [&](int64_t limit) -> uint32_t {
    return static_cast<uint32_t>(std::min<int64_t>({o_.batch, due_ - next_seq_, limit}));
  };
  switch (c.role) {
    case Role::kHttpPublisher:
      while (c.inflight < static_cast<uint32_t>(o_.pipeline) && next_seq_ < due_) {
        uint32_t n = take(o_.batch);
        append_http_publish(c, next_seq_, n);
        c.ring[(c.ring_head + c.inflight) % c.ring.size()] = Pending{next_seq_, n};
        ++c.inflight;
        for (uint32_t k = 0; k < n; ++k) {
          count_sent(next_seq_ + k);
        }
        next_seq_ += n;
      }
      break;
    case Role::kWsPublisher: {
      auto window = static_cast<uint32_t>(o_.pipeline) * static_cast<uint32_t>(o_.batch);
      while (c.inflight < window && next_seq_ < due_) {
        uint32_t n = take(window - c.inflight);
        append_ws_publish(c, next_seq_, n);
        c.inflight += n;
        for (uint32_t k = 0; k < n; ++k) {
          count_sent(next_seq_ + k);
        }
        next_seq_ += n;
      }
      break;
    }
    case Role::kNatsPublisher:
      // No acknowledgements in NATS: write one batch whenever the previous one left the socket.
      if (c.out_off == c.out.size() && next_seq_ < due_) {
        uint32_t n = take(o_.batch);
        append_nats_publish(c, next_seq_, n);
        for (uint32_t k = 0; k < n; ++k) {
          count_sent(next_seq_ + k);
        }
        acked_ += n;
        next_seq_ += n;
      }
      if (next_seq_ >= publish_limit_ && !c.ping_sent) {
        c.out += "PING\r\n";  // its PONG proves that every PUB before it was processed
        c.ping_sent = true;
      }
      break;
    case Role::kSubscriber:
      break;
  }
  if (c.out_off < c.out.size()) {
    flush(c);
  }
}

bool LoadRunner::publishers_done() const {
  if (next_seq_ < publish_limit_) {
    return false;
  }
  for (size_t i = num_subscribers_; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (c.state != State::kReady) {
      continue;
    }
    if (c.inflight > 0 || (c.role == Role::kNatsPublisher && !c.flushed)) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Loop and phases

void LoadRunner::poll(int timeout_ms) {
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    on_event(conns_[events[i].data.u32], events[i].events);
  }
}

void LoadRunner::progress(const char* phase, bool force) {
  int64_t now = monotonic_ns();
  if (o_.quiet || (!force && now - last_progress_ns_ < kSecond)) {
    return;
  }
  last_progress_ns_ = now;
  std::fprintf(stderr,
               "[gyre-load] %s: connected=%lld failed=%lld published=%lld/%lld "
               "received=%lld/%lld\n",
               phase, static_cast<long long>(connect_ok_), static_cast<long long>(connect_failed_),
               static_cast<long long>(next_seq_), static_cast<long long>(publish_limit_),
               static_cast<long long>(received_), static_cast<long long>(expected_));
}

Results LoadRunner::run() {
  Results r;
  int64_t wall_start = monotonic_ns();
  double tool_cpu_start = self_cpu_seconds();
  bool publish_phase = !o_.connect_only && o_.messages > 0;
  num_subscribers_ = o_.clients;
  int num_publishers = publish_phase ? o_.publishers : 0;
  conns_.resize(static_cast<size_t>(num_subscribers_ + num_publishers));
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    c.index = static_cast<uint32_t>(i);
    if (static_cast<int>(i) < num_subscribers_) {
      c.role = Role::kSubscriber;
      c.channel = static_cast<uint32_t>(i % static_cast<size_t>(o_.channels));
    } else if (o_.target == Target::kNats) {
      c.role = Role::kNatsPublisher;
    } else if (o_.via == PublishVia::kClient) {
      c.role = Role::kWsPublisher;
    } else {
      c.role = Role::kHttpPublisher;
    }
  }

  // Connect: at most connect_concurrency handshakes in flight.
  ProcSample before = sample_processes(o_.server_pids);
  connect_start_ns_ = monotonic_ns();
  int64_t deadline = connect_start_ns_ + static_cast<int64_t>(o_.connect_timeout * kSecond);
  while (connect_ok_ + connect_failed_ < num_subscribers_) {
    while (connecting_ < o_.connect_concurrency && next_client_ < num_subscribers_) {
      start_connect(conns_[next_client_++]);
    }
    if (monotonic_ns() > deadline) {
      for (int i = 0; i < num_subscribers_; ++i) {
        State st = conns_[i].state;
        if (st == State::kIdle) {
          ++connect_failed_;  // never started
          conns_[i].state = State::kClosed;
        } else if (st != State::kReady && st != State::kClosed) {
          fail(conns_[i], "connect phase timeout");
        }
      }
      break;
    }
    poll(5);
    progress("connect", false);
  }
  ProcSample connected = sample_processes(o_.server_pids);
  r.connect_ok = connect_ok_;
  r.connect_failed = connect_failed_;
  r.connect_seconds = connect_ok_ ? seconds(last_connect_ns_ - connect_start_ns_) : 0;
  r.connects_per_second = r.connect_seconds > 0 ? connect_ok_ / r.connect_seconds : 0;
  r.connect_p50_ms = connect_hist_.quantile(0.5) / 1e6;
  r.connect_p99_ms = connect_hist_.quantile(0.99) / 1e6;
  r.connect_max_ms = connect_hist_.max() / 1e6;
  progress("connected", true);

  // Idle hold: the connections only answer pings.
  ProcSample idle_start = connected;
  ProcSample idle_end = connected;
  if (o_.idle > 0) {
    int64_t start = monotonic_ns();
    int64_t end = start + static_cast<int64_t>(o_.idle * kSecond);
    while (monotonic_ns() < end) {
      poll(100);
    }
    idle_end = sample_processes(o_.server_pids);
    r.idle_seconds = seconds(monotonic_ns() - start);
  }

  ProcSample publish_start = idle_end;
  ProcSample publish_end = idle_end;
  if (publish_phase) {
    int64_t pdeadline = monotonic_ns() + 10 * kSecond;
    for (int i = num_subscribers_; i < static_cast<int>(conns_.size()); ++i) {
      start_connect(conns_[i]);
    }
    while (publishers_ready_ + publishers_failed_ < num_publishers &&
           monotonic_ns() < pdeadline) {
      poll(5);
    }
    if (publishers_ready_ == 0 && first_error_.empty()) {
      first_error_ = "no publisher connection became ready";
    }
    int64_t settle_end = monotonic_ns() + static_cast<int64_t>(o_.settle * kSecond);
    while (monotonic_ns() < settle_end) {
      poll(10);
    }

    publish_start = sample_processes(o_.server_pids);
    publishing_ = true;
    publish_limit_ = publishers_ready_ > 0 ? o_.messages : 0;
    int64_t t0 = monotonic_ns();
    int64_t stop_at = t0 + static_cast<int64_t>(o_.duration * kSecond);
    int64_t give_up = stop_at + static_cast<int64_t>(o_.drain_timeout * kSecond);
    while (true) {
      int64_t now = monotonic_ns();
      if (now > stop_at && next_seq_ < publish_limit_) {
        publish_limit_ = next_seq_;  // --duration reached: stop publishing
      }
      due_ = publish_limit_;
      if (o_.rate > 0) {
        auto paced = static_cast<int64_t>(seconds(now - t0) * o_.rate) + 1;
        due_ = std::min(due_, paced);
      }
      for (size_t i = num_subscribers_; i < conns_.size(); ++i) {
        pump_publisher(conns_[i]);
      }
      if (publishers_done() || publishers_ready_ == 0 || now > give_up) {
        break;
      }
      bool nats_busy = o_.target == Target::kNats && next_seq_ < due_;
      poll(nats_busy ? 0 : (o_.rate > 0 ? 1 : 10));
      progress("publish", false);
    }
    int64_t published_at = monotonic_ns();
    r.publish_seconds = seconds(published_at - t0);

    // Drain: wait for the remaining deliveries while they keep coming.
    int64_t last_seen = monotonic_ns();
    int64_t seen = received_;
    while (received_ < expected_) {
      poll(10);
      int64_t now = monotonic_ns();
      if (received_ != seen) {
        seen = received_;
        last_seen = now;
      } else if (now - last_seen > static_cast<int64_t>(o_.drain_timeout * kSecond)) {
        break;
      }
      progress("drain", false);
    }
    publish_end = sample_processes(o_.server_pids);
    progress("done", true);
  }

  r.first_error = first_error_;
  r.published = acked_;
  r.publish_failed = publish_failed_;
  r.publish_rate = r.publish_seconds > 0 ? acked_ / r.publish_seconds : 0;
  r.expected = expected_;
  r.received = received_;
  r.lost = expected_ > received_ ? expected_ - received_ : 0;
  r.unparsed = unparsed_;
  r.out_of_order = out_of_order_;
  r.disconnects = disconnects_;
  r.delivery_seconds = seconds(last_delivery_ns_ - first_delivery_ns_);
  r.deliveries_per_second = r.delivery_seconds > 0 ? received_ / r.delivery_seconds : 0;
  r.latency_p50_us = latency_.quantile(0.5) / 1e3;
  r.latency_p90_us = latency_.quantile(0.9) / 1e3;
  r.latency_p99_us = latency_.quantile(0.99) / 1e3;
  r.latency_max_us = latency_.max() / 1e3;
  r.latency_mean_us = latency_.mean() / 1e3;

  r.server_sampled = before.ok && connected.ok;
  if (r.server_sampled) {
    r.rss_before_bytes = before.rss_bytes;
    r.rss_connected_bytes = idle_end.rss_bytes;
    r.rss_end_bytes = publish_end.rss_bytes;
    if (connect_ok_ > 0) {
      r.rss_per_connection_bytes =
          (static_cast<double>(idle_end.rss_bytes) - static_cast<double>(before.rss_bytes)) /
          static_cast<double>(connect_ok_);
    }
    r.connect_cpu_seconds = connected.cpu_seconds - before.cpu_seconds;
    r.connects_per_cpu_second =
        r.connect_cpu_seconds > 0 ? connect_ok_ / r.connect_cpu_seconds : 0;
    r.idle_cpu_seconds = idle_end.cpu_seconds - idle_start.cpu_seconds;
    r.publish_cpu_seconds = publish_end.cpu_seconds - publish_start.cpu_seconds;
    r.deliveries_per_cpu_second =
        r.publish_cpu_seconds > 0 ? received_ / r.publish_cpu_seconds : 0;
    r.cpu_us_per_delivery = received_ > 0 ? r.publish_cpu_seconds * 1e6 / received_ : 0;
  }
  r.tool_cpu_seconds = self_cpu_seconds() - tool_cpu_start;
  r.wall_seconds = seconds(monotonic_ns() - wall_start);
  return r;
}

}  // namespace gyre::bench
