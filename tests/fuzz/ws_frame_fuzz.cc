// libFuzzer target: RFC 6455 frame headers (src/transport/ws_frame.h).
//
// The input is a client->server byte stream. It is parsed like WebSocketSession's
// process_input does: header, then the payload once it is complete, unmasked in place. Each
// parsed header must be consistent with the bytes and survive a write_header round trip;
// unmasking in two pieces must equal unmasking at once; close frames built from the payload
// must parse back.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "transport/ws_frame.h"

namespace ws = gyre::transport::ws;

namespace {

// The header must describe exactly the bytes it was parsed from, with a minimal length.
void check_header(const uint8_t* data, size_t size, const ws::FrameHeader& h) {
  GYRE_FUZZ_CHECK(h.header_len <= size);
  GYRE_FUZZ_CHECK(h.fin == ((data[0] & 0x80) != 0));
  GYRE_FUZZ_CHECK(h.opcode == (data[0] & 0x0F));
  GYRE_FUZZ_CHECK(h.rsv == ((data[0] >> 4) & 0x7));
  GYRE_FUZZ_CHECK(h.masked == ((data[1] & 0x80) != 0));
  GYRE_FUZZ_CHECK((h.payload_len >> 63) == 0);
  size_t len_bytes = h.payload_len < 126 ? 2 : h.payload_len < 65536 ? 4 : 10;
  GYRE_FUZZ_CHECK(h.header_len == len_bytes + (h.masked ? 4 : 0));
  if (h.masked) {
    GYRE_FUZZ_CHECK(std::memcmp(h.mask, data + len_bytes, 4) == 0);
  }

  // Server frames: write_header then parse_header gives back the same length and opcode.
  uint8_t out[ws::kMaxHeader];
  size_t n = ws::write_header(out, h.opcode, h.payload_len);
  GYRE_FUZZ_CHECK(n == len_bytes);
  ws::FrameHeader back;
  GYRE_FUZZ_CHECK(ws::parse_header(out, n, back) == ws::ParseResult::kOk);
  GYRE_FUZZ_CHECK(back.fin && !back.masked && back.rsv == 0);
  GYRE_FUZZ_CHECK(back.opcode == h.opcode && back.payload_len == h.payload_len);
  GYRE_FUZZ_CHECK(back.header_len == n);
  // Every strict prefix of a header needs more bytes.
  for (size_t i = 0; i < h.header_len; ++i) {
    ws::FrameHeader part;
    GYRE_FUZZ_CHECK(ws::parse_header(data, i, part) == ws::ParseResult::kNeedMore);
  }
}

void check_payload(uint8_t* payload, size_t len, const ws::FrameHeader& h) {
  std::vector<uint8_t> whole(payload, payload + len);
  ws::unmask(whole.data(), whole.size(), h.mask);
  // In two pieces, as a payload split across reads would be.
  size_t split = len == 0 ? 0 : (h.mask[0] % (len + 1));
  ws::unmask(payload, split, h.mask);
  ws::unmask(payload + split, len - split, h.mask, split);
  GYRE_FUZZ_CHECK(std::equal(whole.begin(), whole.end(), payload));

  if (h.opcode == ws::kClose) {
    uint16_t code = len >= 2 ? static_cast<uint16_t>((payload[0] << 8) | payload[1]) : 1000;
    std::string_view reason(reinterpret_cast<const char*>(payload), len);
    reason.remove_prefix(std::min<size_t>(2, len));
    std::string frame = ws::close_frame(code, reason);
    ws::FrameHeader c;
    auto* bytes = reinterpret_cast<const uint8_t*>(frame.data());
    GYRE_FUZZ_CHECK(ws::parse_header(bytes, frame.size(), c) == ws::ParseResult::kOk);
    GYRE_FUZZ_CHECK(c.opcode == ws::kClose && c.fin && c.payload_len <= 125);
    GYRE_FUZZ_CHECK(c.header_len + c.payload_len == frame.size());
    GYRE_FUZZ_CHECK(((bytes[2] << 8) | bytes[3]) == code);
  } else if (h.opcode == ws::kText && len <= 64) {
    // Keys are short; any bytes must hash without trouble.
    std::string key = ws::accept_key(
        std::string_view(reinterpret_cast<const char*>(payload), len));
    GYRE_FUZZ_CHECK(key.size() == 28);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);  // unmasked in place, like the session buffer
  size_t pos = 0;
  while (pos < buf.size()) {
    ws::FrameHeader h;
    auto r = ws::parse_header(buf.data() + pos, buf.size() - pos, h);
    if (r == ws::ParseResult::kNeedMore) {
      GYRE_FUZZ_CHECK(buf.size() - pos < 14);
      break;
    }
    if (r == ws::ParseResult::kInvalid) {
      break;
    }
    check_header(buf.data() + pos, buf.size() - pos, h);
    size_t avail = buf.size() - pos - h.header_len;
    if (avail < h.payload_len) {
      break;  // the session waits for the rest
    }
    auto len = static_cast<size_t>(h.payload_len);
    check_payload(buf.data() + pos + h.header_len, len, h);
    pos += h.header_len + len;
  }
  GYRE_FUZZ_CHECK(pos <= buf.size());
  return 0;
}
