#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "transport/ws_frame.h"

// The read state machine of a server-side WebSocket connection (RFC 6455 §5, RFC 7692 §6),
// apart from any socket: frame validation (masking, reserved bits, opcodes, control-frame
// rules, fragmentation order), the message size limit (checked from the frame header, before
// buffering the payload), message assembly across fragments and the RSV1 (compressed) mark.
// WebSocketSession feeds it the bytes it reads and acts on the events; the ws_reader fuzz
// target drives it directly. Shard-local: one per connection; holds no buffer while no
// fragmented message is being assembled.
namespace gyre::transport::ws {

struct ReadEvent {
  enum Kind : uint8_t {
    kMessage,        // a complete text or binary message
    kPing,           // data = ping payload
    kPong,           // data = pong payload
    kClose,          // close_code = the peer's code, 1000 when it sent none; data = payload
    kProtocolError,  // close 1002: bad framing, unmasked frame, bad opcode or RSV bits...
    kTooBig,         // close 1009: the message exceeds the size limit
  };
  Kind kind = kMessage;
  uint8_t opcode = 0;       // kMessage: kText or kBinary
  bool compressed = false;  // kMessage: RSV1 on its first frame (permessage-deflate)
  uint16_t close_code = 0;  // kClose
  std::string_view data;    // valid during the callback only
};

// What the connection negotiated. Passed to each feed() rather than stored: bytes per idle
// connection are a tracked figure, and the session holds these already.
struct ReadLimits {
  uint32_t message_size_limit = 65536;
  bool deflate = false;  // permessage-deflate negotiated: RSV1 allowed on a message's first frame
};

class MessageReader {
 public:
  // Parses every complete frame in [data, data + size), unmasking payloads in place, and calls
  // `on_event(const ReadEvent&)` for each event in order. `on_event` returns false to stop
  // reading (the event's frame counts as consumed). After kProtocolError or kTooBig the reader
  // has failed: it reports nothing more. Returns the bytes consumed; a trailing partial frame
  // is not consumed — feed it again, with what follows, later.
  template <class OnEvent>
  size_t feed(uint8_t* data, size_t size, const ReadLimits& limits, OnEvent&& on_event);

  bool failed() const { return failed_; }
  bool in_message() const { return in_fragmented_; }

 private:
  // Header checks that need no payload; kMessage (unused) when the frame is acceptable.
  ReadEvent::Kind check(const FrameHeader& h, const ReadLimits& limits) const;

  // Fragmented message being assembled; null when none (idle connections hold no buffer).
  std::unique_ptr<std::string> message_;
  bool failed_ = false;
  bool in_fragmented_ = false;
  bool message_compressed_ = false;  // the fragmented message had RSV1 on its first frame
  uint8_t message_opcode_ = 0;
};

inline ReadEvent::Kind MessageReader::check(const FrameHeader& h,
                                            const ReadLimits& limits) const {
  if (!h.masked) {
    return ReadEvent::kProtocolError;
  }
  // RSV1 marks a compressed message: only when negotiated, and only on the first frame of a
  // data message (RFC 7692 §6.1). RSV2/RSV3 are never valid.
  if (h.rsv != 0 && !(limits.deflate && h.rsv == 4 && (h.opcode == kText || h.opcode == kBinary))) {
    return ReadEvent::kProtocolError;
  }
  if ((h.opcode & 0x8) != 0) {
    if (h.opcode != kClose && h.opcode != kPing && h.opcode != kPong) {
      return ReadEvent::kProtocolError;
    }
    if (!h.fin || h.payload_len > 125) {
      return ReadEvent::kProtocolError;
    }
    return ReadEvent::kMessage;
  }
  if (h.opcode != kContinuation && h.opcode != kText && h.opcode != kBinary) {
    return ReadEvent::kProtocolError;
  }
  if ((h.opcode == kContinuation) != in_fragmented_) {
    return ReadEvent::kProtocolError;
  }
  uint64_t total = h.payload_len + (in_fragmented_ && message_ ? message_->size() : 0);
  if (total > limits.message_size_limit) {
    // Checked before buffering the payload (client-protocol.md §2.4: close 1009).
    return ReadEvent::kTooBig;
  }
  return ReadEvent::kMessage;
}

template <class OnEvent>
size_t MessageReader::feed(uint8_t* data, size_t size, const ReadLimits& limits,
                           OnEvent&& on_event) {
  size_t pos = 0;
  while (!failed_ && pos < size) {
    FrameHeader h;
    auto r = parse_header(data + pos, size - pos, h);
    if (r == ParseResult::kNeedMore) {
      break;
    }
    ReadEvent::Kind bad = r == ParseResult::kInvalid ? ReadEvent::kProtocolError : check(h, limits);
    if (bad != ReadEvent::kMessage) {
      failed_ = true;
      message_.reset();
      ReadEvent e;
      e.kind = bad;
      on_event(e);
      return pos;
    }
    if (size - pos < h.header_len + h.payload_len) {
      break;
    }
    uint8_t* payload = data + pos + h.header_len;
    const auto len = static_cast<size_t>(h.payload_len);
    unmask(payload, len, h.mask);
    pos += h.header_len + len;
    std::string_view bytes(reinterpret_cast<const char*>(payload), len);
    ReadEvent e;
    switch (h.opcode) {
      case kText:
      case kBinary:
        if (!h.fin) {
          in_fragmented_ = true;
          message_opcode_ = h.opcode;
          message_compressed_ = h.rsv != 0;
          message_ = std::make_unique<std::string>(bytes);
          continue;
        }
        e.kind = ReadEvent::kMessage;
        e.opcode = h.opcode;
        e.compressed = h.rsv != 0;
        e.data = bytes;
        if (!on_event(e)) {
          return pos;
        }
        continue;
      case kContinuation: {
        if (!message_) {
          message_ = std::make_unique<std::string>();
        }
        message_->append(bytes);
        if (!h.fin) {
          continue;
        }
        in_fragmented_ = false;
        // Moved out: an idle connection keeps no assembly buffer.
        std::string whole = std::move(*message_);
        message_.reset();
        e.kind = ReadEvent::kMessage;
        e.opcode = message_opcode_;
        e.compressed = message_compressed_;
        message_compressed_ = false;
        e.data = whole;
        if (!on_event(e)) {
          return pos;
        }
        continue;
      }
      case kPing:
      case kPong:
        e.kind = h.opcode == kPing ? ReadEvent::kPing : ReadEvent::kPong;
        e.data = bytes;
        break;
      case kClose:
        e.kind = ReadEvent::kClose;
        e.close_code = len >= 2 ? static_cast<uint16_t>((payload[0] << 8) | payload[1]) : 1000;
        e.data = bytes;
        break;
      default:
        continue;
    }
    if (!on_event(e)) {
      return pos;
    }
  }
  return pos;
}

}  // namespace gyre::transport::ws
