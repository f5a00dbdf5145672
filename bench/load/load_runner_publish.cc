#include "load/load_runner.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "load/jwt.h"
#include "load/pb_codec.h"
#include "load/wire_scan.h"

// LoadRunner: the publishers (HTTP API, WebSocket client publish, NATS PUB) and their pacing.
namespace gyre::bench {

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

}  // namespace gyre::bench
