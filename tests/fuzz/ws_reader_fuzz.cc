// libFuzzer target: the WebSocket read state machine (src/transport/ws_reader.h) that
// WebSocketSession feeds with the bytes it reads: frame validation, control-frame rules,
// fragmentation order, the message size limit and message assembly.
//
// Input: byte 0 picks the limits (bit 0: permessage-deflate negotiated; bits 1-3: the message
// size limit from a table), byte 1 seeds the read split points; the rest is the client byte
// stream. Invariants:
//  - reading the stream at once and reading it in pieces (as reads split it, partial frames
//    carried over as the session does) give the same events;
//  - a message never exceeds the limit; ping/pong/close payloads are at most 125 bytes;
//  - nothing is reported after kProtocolError / kTooBig, which end the sequence;
//  - a compressed message only when deflate was negotiated; a message is text or binary.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "transport/ws_reader.h"

namespace ws = gyre::transport::ws;

namespace {

struct Seen {
  int kind;
  int opcode;
  bool compressed;
  int code;
  std::string data;
  bool operator==(const Seen&) const = default;
};

void check_event(const ws::ReadEvent& e, const ws::ReadLimits& limits) {
  switch (e.kind) {
    case ws::ReadEvent::kMessage:
      GYRE_FUZZ_CHECK(e.data.size() <= limits.message_size_limit);
      GYRE_FUZZ_CHECK(e.opcode == ws::kText || e.opcode == ws::kBinary);
      GYRE_FUZZ_CHECK(!e.compressed || limits.deflate);
      break;
    case ws::ReadEvent::kPing:
    case ws::ReadEvent::kPong:
    case ws::ReadEvent::kClose:
      GYRE_FUZZ_CHECK(e.data.size() <= 125);
      break;
    default:
      GYRE_FUZZ_CHECK(e.data.empty());
  }
}

std::vector<Seen> run(const std::vector<uint8_t>& stream, const ws::ReadLimits& limits,
                      uint8_t seed, bool pieces) {
  ws::MessageReader reader;
  std::vector<Seen> out;
  bool ended = false;
  auto on_event = [&](const ws::ReadEvent& e) {
    GYRE_FUZZ_CHECK(!ended);
    check_event(e, limits);
    out.push_back({e.kind, e.opcode, e.compressed, e.close_code, std::string(e.data)});
    ended = e.kind == ws::ReadEvent::kProtocolError || e.kind == ws::ReadEvent::kTooBig;
    return true;
  };
  std::string pending;
  size_t pos = 0;
  uint32_t rng = seed * 2654435761u + 1;
  while (pos < stream.size() && !reader.failed()) {
    size_t n = stream.size() - pos;
    if (pieces) {
      rng = rng * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (rng >> 16) % 37);
    }
    pending.append(reinterpret_cast<const char*>(stream.data() + pos), n);
    pos += n;
    size_t consumed = reader.feed(reinterpret_cast<uint8_t*>(pending.data()), pending.size(),
                                  limits, on_event);
    GYRE_FUZZ_CHECK(consumed <= pending.size());
    pending.erase(0, consumed);
  }
  GYRE_FUZZ_CHECK(reader.failed() == ended);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  static constexpr uint32_t kLimits[] = {0, 1, 125, 126, 200, 1000, 65535, 65536};
  ws::ReadLimits limits{kLimits[(data[0] >> 1) & 7], (data[0] & 1) != 0};
  std::vector<uint8_t> stream(data + 2, data + size);
  auto whole = run(stream, limits, data[1], false);
  auto split = run(stream, limits, data[1], true);
  GYRE_FUZZ_CHECK(whole == split);
  return 0;
}
