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

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::string truncated(std::string_view s) {
  std::string out(s.substr(0, 160));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  return out;
}

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
  alt_addr_ = ws_addr_;
  if (o_.alt_port != 0) {
    alt_addr_.sin_port = htons(static_cast<uint16_t>(o_.alt_port));
  }
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
                            : (c.role == Role::kSubscriber && c.index % 2 == 1) ? alt_addr_
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
