#include "load/load_runner.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "load/jwt.h"
#include "load/pb_codec.h"
#include "load/wire_scan.h"

// LoadRunner: reading what servers send (WebSocket frames, Gyre JSON/Protobuf replies and
// pushes, NATS, HTTP responses) and counting deliveries.
namespace gyre::bench {

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

}  // namespace gyre::bench
