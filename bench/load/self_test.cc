#include "load/self_test.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "load/histogram.h"
#include "load/jwt.h"
#include "load/nchan_config.h"
#include "load/pb_codec.h"
#include "load/wire_scan.h"
#include "load/ws_frame.h"

namespace gyre::bench {
namespace {

int g_failures = 0;
int g_checks = 0;

void check(bool ok, const char* what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL: %s\n", what);
  }
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) {
      out += ' ';
    }
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

void test_protobuf() {
  // client-protocol.md §10.2: Command{id:1, connect:{name:"js"}}.
  std::string out;
  pb::append_connect(out, 1, "", "js");
  check(hex(out) == "08 08 01 22 04 22 02 6A 73", "pb connect encoding matches §10.2");

  // Push Reply{push:{channel:"news", pub:{data:"{}", offset:5}}}.
  std::string frame = unhex("10 22 0E 12 04 6E 65 77 73 22 06 22 02 7B 7D 30 05");
  auto item = pb::next_delimited(frame);
  check(item && item->consumed == frame.size(), "pb push delimited");
  auto r = pb::decode_reply(item->message);
  check(r && r->id == 0 && r->has_push && r->has_pub, "pb push decoded");
  check(r && r->channel == "news" && r->data == "{}" && r->offset == 5, "pb push fields");

  // Reply{id:1, connect:{client:"abc", ping:25, pong:true}} then Reply{id:2, subscribe:{}} and a
  // ping, all in one frame.
  frame = unhex("0D 08 01 2A 09 0A 03 61 62 63 38 19 40 01 04 08 02 32 00 00");
  std::string_view f = frame;
  int replies = 0;
  int pings = 0;
  while (!f.empty()) {
    auto d = pb::next_delimited(f);
    if (!d) {
      break;
    }
    f.remove_prefix(d->consumed);
    if (d->message.empty()) {
      ++pings;
      continue;
    }
    auto rr = pb::decode_reply(d->message);
    if (rr && rr->id > 0 && rr->has_result && !rr->has_error) {
      ++replies;
    }
  }
  check(f.empty() && replies == 2 && pings == 1, "pb connect+subscribe replies and ping");

  // Error reply: Reply{id:2, error:{code:103, message:"x"}}.
  std::string err;
  err += '\x08';
  err += '\x02';
  err += '\x12';
  err += '\x05';
  err += '\x08';
  err += 'g';  // 103
  err += '\x12';
  err += '\x01';
  err += 'x';
  auto er = pb::decode_reply(err);
  check(er && er->has_error && er->error_code == 103 && er->id == 2, "pb error reply");

  // Round trip of the publish/subscribe commands through a generic field walk.
  out.clear();
  pb::append_subscribe(out, 2, "bench-0");
  check(hex(out) == "0D 08 02 2A 09 0A 07 62 65 6E 63 68 2D 30", "pb subscribe encoding");
  out.clear();
  pb::append_publish(out, 300, "c", "{}");
  check(hex(out) == "0C 08 AC 02 3A 07 0A 01 63 12 02 7B 7D", "pb publish encoding");
  check(!pb::next_delimited(unhex("05 08 01")), "pb truncated frame rejected");
  check(!pb::decode_reply(unhex("0A 05 01")), "pb truncated field rejected");
}

void test_websocket() {
  // A masked client frame parses back (the parser unmasks) to the same payload.
  std::string out;
  append_ws_frame(out, WsOpcode::kText, "hello", 0x12345678);
  check(out.size() == 2 + 4 + 5 && (static_cast<uint8_t>(out[1]) & 0x80), "ws client frame masked");
  check(out.substr(6) != "hello", "ws payload masked");
  WsParse p = parse_ws_frame(out.data(), out.size());
  check(p.status == WsParseStatus::kFrame && std::string_view(p.frame.payload, p.frame.size) ==
                                                 "hello",
        "ws masked frame round trip");

  // Two unmasked server frames back to back (16-bit length on the second), then a partial one.
  std::string big(300, 'y');
  std::string in;
  in += "\x81\x02{}";
  in += "\x82\x7e";
  in += static_cast<char>(big.size() >> 8);
  in += static_cast<char>(big.size() & 0xff);
  in += big;
  in += "\x81\x05he";
  WsParse a = parse_ws_frame(in.data(), in.size());
  check(a.status == WsParseStatus::kFrame && a.frame.size == 2 && a.frame.fin &&
            a.frame.opcode == WsOpcode::kText,
        "ws first frame");
  WsParse b = parse_ws_frame(in.data() + a.consumed, in.size() - a.consumed);
  check(b.status == WsParseStatus::kFrame && b.frame.size == 300 &&
            b.frame.opcode == WsOpcode::kBinary,
        "ws 16-bit length frame");
  size_t at = a.consumed + b.consumed;
  WsParse c = parse_ws_frame(in.data() + at, in.size() - at);
  check(c.status == WsParseStatus::kIncomplete, "ws partial frame");

  // 64-bit length header for a 70000-byte frame.
  out.clear();
  std::string huge(70000, 'z');
  append_ws_frame(out, WsOpcode::kBinary, huge, 0xdeadbeef);
  check(static_cast<uint8_t>(out[1]) == (0x80 | 127) && out.size() == 14 + huge.size(),
        "ws 64-bit length header");
  WsParse h = parse_ws_frame(out.data(), out.size());
  check(h.status == WsParseStatus::kFrame && std::string_view(h.frame.payload, h.frame.size) == huge,
        "ws 64-bit round trip");
}

void test_scanners() {
  std::string payload;
  append_payload(payload, 1234567890123, 42, "xx");
  check(payload == R"({"t":1234567890123,"s":42,"p":"xx"})", "payload format");
  std::string push = R"({"push":{"channel":"bench-0","pub":{"data":)" + payload + "}}}";
  Stamp st = find_stamp(push);
  check(st.ok && st.t == 1234567890123 && st.s == 42, "stamp found in a Gyre push");
  check(!find_stamp(R"({"id":1,"connect":{"client":"x"}})").ok, "no stamp in a reply");

  // nats-server packs several MSGs into one frame and may cut one.
  std::string nats = "MSG bench-0 1 5\r\nhello\r\nMSG bench-0 1 reply.x 2\r\nhi\r\nPING\r\nMSG b 1 10\r\nabc";
  std::string_view v = nats;
  NatsItem i1 = parse_nats(v);
  check(i1.status == NatsItem::kItem && i1.kind == NatsKind::kMsg && i1.payload == "hello",
        "nats MSG");
  v.remove_prefix(i1.consumed);
  NatsItem i2 = parse_nats(v);
  check(i2.status == NatsItem::kItem && i2.payload == "hi", "nats MSG with reply subject");
  v.remove_prefix(i2.consumed);
  NatsItem i3 = parse_nats(v);
  check(i3.status == NatsItem::kItem && i3.kind == NatsKind::kPing, "nats PING");
  v.remove_prefix(i3.consumed);
  check(parse_nats(v).status == NatsItem::kIncomplete, "nats partial MSG");
  check(parse_nats("-ERR 'Slow Consumer'\r\n").kind == NatsKind::kErr, "nats -ERR");

  std::string http =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
      "{\"result\":{}}HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nqueue\r\n0\r\n\r\nHTTP/1.1 200";
  std::string_view hv = http;
  HttpResponse h1 = parse_http_response(hv);
  check(h1.status == HttpResponse::kComplete && h1.code == 200 && h1.body == "{\"result\":{}}",
        "http content-length response");
  hv.remove_prefix(h1.consumed);
  HttpResponse h2 = parse_http_response(hv);
  check(h2.status == HttpResponse::kComplete && h2.code == 202 && h2.body == "queue",
        "http chunked response");
  hv.remove_prefix(h2.consumed);
  check(parse_http_response(hv).status == HttpResponse::kIncomplete, "http partial response");
  check(count_occurrences(R"({"replies":[{"publish":{}},{"error":{"code":102}}]})", "\"error\"") ==
            1,
        "batch error count");
}

void test_jwt_and_histogram() {
  // RFC 7515 is HS256 with a binary key; this is the well-known jwt.io HS256 sample instead.
  std::string token = sign_hs256(R"({"alg":"HS256","typ":"JWT"})",
                                 R"({"sub":"1234567890","name":"John Doe","iat":1516239022})",
                                 "your-256-bit-secret");
  check(token ==
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "HS256 token matches the jwt.io sample");
  check(base64url("f") == "Zg" && base64url("fo") == "Zm8" && base64url("foo") == "Zm9v",
        "base64url without padding");

  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) {
    h.record(v * 1000);  // 1 us .. 100 ms
  }
  auto near = [](uint64_t got, double want) {
    return static_cast<double>(got) > want * 0.98 && static_cast<double>(got) < want * 1.02;
  };
  check(near(h.quantile(0.5), 50e6) && near(h.quantile(0.99), 99e6), "histogram quantiles");
  check(h.max() == 100000000 && h.min() == 1000, "histogram extremes");
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    if (Histogram::upper_bound(b) + 1 != Histogram::lower_bound(b + 1)) {
      check(false, "histogram buckets are contiguous");
      break;
    }
  }
  check(Histogram::bucket_of(UINT64_MAX) == Histogram::kBuckets - 1, "histogram covers uint64");
  check(nchan_config(8080, "/tmp/x").find("nchan_subscriber websocket;") != std::string::npos,
        "nchan config");
}

}  // namespace

int run_self_test() {
  test_protobuf();
  test_websocket();
  test_scanners();
  test_jwt_and_histogram();
  std::printf("self-test: %d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace gyre::bench
