#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Minimal client-side WebSocket framing (RFC 6455 §5). Server frames are parsed in place from
// the receive buffer; client frames are appended, masked, to an output buffer. Stateless.
namespace gyre::bench {

enum class WsOpcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

struct WsFrame {
  WsOpcode opcode = WsOpcode::kText;
  bool fin = true;
  char* payload = nullptr;
  size_t size = 0;
};

enum class WsParseStatus : uint8_t { kFrame, kIncomplete, kError };

struct WsParse {
  WsParseStatus status = WsParseStatus::kIncomplete;
  size_t consumed = 0;  // bytes of this frame (header + payload) when status is kFrame
  WsFrame frame;
};

// Frames larger than this are a protocol error for the tool (publications are small).
inline constexpr size_t kMaxWsFrame = 16 * 1024 * 1024;

// Parses one frame at data[0, size). A masked server frame (not allowed by RFC 6455 §5.1, but
// harmless) is unmasked in place.
WsParse parse_ws_frame(char* data, size_t size);

// Appends one final frame with the client mask `mask_key` (RFC 6455 §5.3: clients MUST mask).
void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload,
                     uint32_t mask_key);

// Appends a frame header for a payload of `size` bytes followed by the mask key, and returns the
// offset where the payload must be written (then masked with mask_payload()). Lets callers build
// the payload in place without a copy.
size_t append_ws_header(std::string& out, WsOpcode opcode, size_t size, uint32_t mask_key);
void mask_payload(char* data, size_t size, uint32_t mask_key);

// The HTTP/1.1 upgrade request (RFC 6455 §4.1). `subprotocol` may be empty.
std::string ws_upgrade_request(std::string_view host, int port, std::string_view path,
                               std::string_view subprotocol);

}  // namespace gyre::bench
