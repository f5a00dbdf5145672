#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// RFC 6455 frame codec, hand-written because the server->client direction is the hot path:
// server frames are unmasked, so one encoded publication can be framed once and its bytes
// shared by every subscriber. Pure functions: thread-safe.
namespace gyre::transport::ws {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct FrameHeader {
  bool fin = false;
  uint8_t rsv = 0;  // RSV1-3 bits
  uint8_t opcode = 0;
  bool masked = false;
  uint8_t mask[4] = {0, 0, 0, 0};
  uint64_t payload_len = 0;
  size_t header_len = 0;
};

enum class ParseResult { kOk, kNeedMore, kInvalid };

// Parses a frame header from `data`. kInvalid for a non-minimal or oversized (> 2^63)
// length encoding.
ParseResult parse_header(const uint8_t* data, size_t size, FrameHeader& out);

// Writes the header of an unmasked server frame with FIN set. Returns its length (2-10).
size_t write_header(uint8_t* out, uint8_t opcode, uint64_t payload_len);
constexpr size_t kMaxHeader = 10;

// XORs `data` with the mask, starting at mask position `pos` (for payloads in pieces).
void unmask(uint8_t* data, size_t size, const uint8_t mask[4], size_t pos = 0);

// A complete server close frame: code + reason (reason truncated to at most 123 bytes, at a
// UTF-8 character boundary).
std::string close_frame(uint16_t code, std::string_view reason);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (SHA-1 + base64).
std::string accept_key(std::string_view key);

}  // namespace gyre::transport::ws
