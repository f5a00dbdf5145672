#include "transport/ws_frame.h"

#include <openssl/sha.h>

#include <cstring>

#include "core/base64.h"

namespace gyre::transport::ws {

ParseResult parse_header(const uint8_t* data, size_t size, FrameHeader& out) {
  if (size < 2) {
    return ParseResult::kNeedMore;
  }
  out.fin = (data[0] & 0x80) != 0;
  out.rsv = (data[0] >> 4) & 0x7;
  out.opcode = data[0] & 0x0F;
  out.masked = (data[1] & 0x80) != 0;
  uint64_t len = data[1] & 0x7F;
  size_t pos = 2;
  if (len == 126) {
    if (size < 4) {
      return ParseResult::kNeedMore;
    }
    len = (uint64_t{data[2]} << 8) | data[3];
    if (len < 126) {
      return ParseResult::kInvalid;
    }
    pos = 4;
  } else if (len == 127) {
    if (size < 10) {
      return ParseResult::kNeedMore;
    }
    len = 0;
    for (int i = 0; i < 8; ++i) {
      len = (len << 8) | data[2 + i];
    }
    if (len < 65536 || (len >> 63) != 0) {
      return ParseResult::kInvalid;
    }
    pos = 10;
  }
  if (out.masked) {
    if (size < pos + 4) {
      return ParseResult::kNeedMore;
    }
    std::memcpy(out.mask, data + pos, 4);
    pos += 4;
  }
  out.payload_len = len;
  out.header_len = pos;
  return ParseResult::kOk;
}

size_t write_header(uint8_t* out, uint8_t opcode, uint64_t len) {
  out[0] = static_cast<uint8_t>(0x80 | opcode);
  if (len < 126) {
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  if (len < 65536) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(len >> 8);
    out[3] = static_cast<uint8_t>(len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
  }
  return 10;
}

void unmask(uint8_t* data, size_t size, const uint8_t mask[4], size_t pos) {
  for (size_t i = 0; i < size; ++i) {
    data[i] ^= mask[(pos + i) & 3];
  }
}

std::string close_frame(uint16_t code, std::string_view reason) {
  if (reason.size() > 123) {
    // Cut at a UTF-8 character boundary: a close reason must be valid UTF-8 (RFC 6455 §5.5.1),
    // or browsers and ws fail the connection with 1007 instead of reporting the code.
    size_t n = 123;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) {
      --n;
    }
    reason = reason.substr(0, n);
  }
  std::string out;
  uint8_t hdr[kMaxHeader];
  size_t n = write_header(hdr, kClose, 2 + reason.size());
  out.append(reinterpret_cast<const char*>(hdr), n);
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xFF);
  out.append(reason);
  return out;
}

std::string accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string in(key);
  in.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  return base64::encode_std(
      std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
}

}  // namespace gyre::transport::ws
