#include "load/ws_frame.h"

#include <cstring>

namespace gyre::bench {

WsParse parse_ws_frame(char* data, size_t size) {
  WsParse r;
  if (size < 2) {
    return r;
  }
  auto b0 = static_cast<uint8_t>(data[0]);
  auto b1 = static_cast<uint8_t>(data[1]);
  bool masked = (b1 & 0x80) != 0;
  uint64_t len = b1 & 0x7f;
  size_t header = 2;
  if (len == 126) {
    if (size < 4) {
      return r;
    }
    len = (static_cast<uint64_t>(static_cast<uint8_t>(data[2])) << 8) |
          static_cast<uint8_t>(data[3]);
    header = 4;
  } else if (len == 127) {
    if (size < 10) {
      return r;
    }
    len = 0;
    for (int i = 0; i < 8; ++i) {
      len = (len << 8) | static_cast<uint8_t>(data[2 + i]);
    }
    header = 10;
  }
  if (len > kMaxWsFrame) {
    r.status = WsParseStatus::kError;
    return r;
  }
  uint32_t key = 0;
  if (masked) {
    if (size < header + 4) {
      return r;
    }
    std::memcpy(&key, data + header, 4);
    header += 4;
  }
  if (size < header + len) {
    return r;
  }
  r.status = WsParseStatus::kFrame;
  r.consumed = header + len;
  r.frame.fin = (b0 & 0x80) != 0;
  r.frame.opcode = static_cast<WsOpcode>(b0 & 0x0f);
  r.frame.payload = data + header;
  r.frame.size = len;
  if (masked) {
    mask_payload(r.frame.payload, len, key);
  }
  return r;
}

void mask_payload(char* data, size_t size, uint32_t mask_key) {
  unsigned char key[4];
  std::memcpy(key, &mask_key, 4);
  size_t i = 0;
  if (size >= 8) {
    uint64_t k8 = (static_cast<uint64_t>(mask_key) << 32) | mask_key;
    for (; i + 8 <= size; i += 8) {
      uint64_t v;
      std::memcpy(&v, data + i, 8);
      v ^= k8;
      std::memcpy(data + i, &v, 8);
    }
  }
  for (; i < size; ++i) {
    data[i] = static_cast<char>(data[i] ^ key[i & 3]);
  }
}

size_t append_ws_header(std::string& out, WsOpcode opcode, size_t size, uint32_t mask_key) {
  char h[14];
  size_t n = 0;
  h[n++] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  if (size < 126) {
    h[n++] = static_cast<char>(0x80 | size);
  } else if (size <= 0xffff) {
    h[n++] = static_cast<char>(0x80 | 126);
    h[n++] = static_cast<char>((size >> 8) & 0xff);
    h[n++] = static_cast<char>(size & 0xff);
  } else {
    h[n++] = static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) {
      h[n++] = static_cast<char>((static_cast<uint64_t>(size) >> (8 * i)) & 0xff);
    }
  }
  std::memcpy(h + n, &mask_key, 4);
  n += 4;
  out.append(h, n);
  return out.size();
}

void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload,
                     uint32_t mask_key) {
  size_t at = append_ws_header(out, opcode, payload.size(), mask_key);
  out.append(payload);
  mask_payload(out.data() + at, payload.size(), mask_key);
}

std::string ws_upgrade_request(std::string_view host, int port, std::string_view path,
                               std::string_view subprotocol) {
  std::string r;
  r.reserve(256);
  r += "GET ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += ':';
  r += std::to_string(port);
  // The tool does not check Sec-WebSocket-Accept: the key is fixed (RFC 6455 §1.3 sample).
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (!subprotocol.empty()) {
    r += "Sec-WebSocket-Protocol: ";
    r += subprotocol;
    r += "\r\n";
  }
  r += "\r\n";
  return r;
}

}  // namespace gyre::bench
