#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <string_view>

#include "transport/websocket_session.h"
#include "transport/websocket_session_internal.h"
#include "transport/ws_deflate.h"

// WebSocketSession, reading half: readiness waits, frame parsing, control frames, message
// assembly and inflation, hand-off to the client. Shard-local, as the session.
namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;

// ------------------------------------------------------------------- reading

void WebSocketSession::wait_readable() {
  if (reading_ || finished_) {
    return;
  }
  reading_ = true;
  // The wait stays pending for as long as the connection is idle. std::allocator sizes the
  // operation exactly; Asio's default recycling allocator would park it in any larger block
  // cached by the thread (e.g. one left by the HTTP upgrade's read), ~600 bytes per connection.
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     asio::bind_allocator(std::allocator<void>(),
                                          [self = shared_from_this()](error_code ec) {
                                            self->reading_ = false;
                                            if (ec) {
                                              self->finish();
                                              return;
                                            }
                                            self->on_readable();
                                          }));
}

void WebSocketSession::on_readable() {
  if (finished_) {
    return;
  }
  auto self = shared_from_this();
  auto& buf = WebSocketShards::local().read_buf;
  for (int round = 0; round < 16; ++round) {
    error_code ec;
    size_t n = socket_.read_some(asio::buffer(buf.data(), buf.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      break;
    }
    if (ec || n == 0) {
      finish();
      return;
    }
    if (discard_input_) {
      continue;
    }
    bool ok = true;
    if (pending_.empty()) {
      size_t consumed = 0;
      ok = process_input(buf.data(), n, consumed);
      if (ok && !finished_ && consumed < n) {
        pending_.assign(reinterpret_cast<const char*>(buf.data()) + consumed, n - consumed);
      }
    } else {
      pending_.append(reinterpret_cast<const char*>(buf.data()), n);
      size_t consumed = 0;
      ok = process_input(reinterpret_cast<uint8_t*>(pending_.data()), pending_.size(), consumed);
      if (ok && !finished_) {
        pending_.erase(0, consumed);
        if (pending_.empty() && pending_.capacity() > 4096) {
          std::string().swap(pending_);  // idle connections keep no buffer
        }
      }
    }
    if (!ok || finished_) {
      if (discard_input_) {
        std::string().swap(pending_);
      }
      return;
    }
    if (n < buf.size()) {
      break;
    }
  }
  wait_readable();
}

// Parses and handles every complete frame in [data, data+size). Returns false when the
// connection failed (reading stops).
bool WebSocketSession::process_input(uint8_t* data, size_t size, size_t& consumed) {
  size_t pos = 0;
  while (pos < size) {
    ws::FrameHeader h;
    auto r = ws::parse_header(data + pos, size - pos, h);
    if (r == ws::ParseResult::kNeedMore) {
      break;
    }
    if (r == ws::ParseResult::kInvalid || !h.masked) {
      fail_protocol(1002, "protocol error");
      return false;
    }
    // RSV1 marks a compressed message: only when negotiated, and only on the first frame of a
    // data message (RFC 7692 §6.1). RSV2/RSV3 are never valid.
    if (h.rsv != 0 && !(opts_.deflate && h.rsv == 4 &&
                        (h.opcode == ws::kText || h.opcode == ws::kBinary))) {
      fail_protocol(1002, "protocol error");
      return false;
    }
    const bool control = (h.opcode & 0x8) != 0;
    if (control) {
      if (h.opcode != ws::kClose && h.opcode != ws::kPing && h.opcode != ws::kPong) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      if (!h.fin || h.payload_len > 125) {
        fail_protocol(1002, "protocol error");
        return false;
      }
    } else {
      if (h.opcode != ws::kContinuation && h.opcode != ws::kText && h.opcode != ws::kBinary) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      if ((h.opcode == ws::kContinuation) != in_fragmented_) {
        fail_protocol(1002, "protocol error");
        return false;
      }
      uint64_t total = h.payload_len + (in_fragmented_ ? message_.size() : 0);
      if (total > static_cast<uint64_t>(opts_.message_size_limit)) {
        // Checked before buffering the payload (client-protocol.md §2.4: close 1009). The
        // reason is empty, as gorilla/websocket sends it.
        fail_protocol(1009, "");
        return false;
      }
    }
    if (size - pos < h.header_len + h.payload_len) {
      break;
    }
    uint8_t* payload = data + pos + h.header_len;
    ws::unmask(payload, static_cast<size_t>(h.payload_len), h.mask);
    pos += h.header_len + static_cast<size_t>(h.payload_len);
    if (!handle_frame(h, payload)) {
      consumed = pos;
      return !finished_;
    }
    if (finished_) {
      return false;
    }
  }
  consumed = pos;
  return true;
}

bool WebSocketSession::handle_frame(const ws::FrameHeader& h, uint8_t* payload) {
  auto len = static_cast<size_t>(h.payload_len);
  std::string_view data(reinterpret_cast<const char*>(payload), len);
  switch (h.opcode) {
    case ws::kText:
    case ws::kBinary:
      if (!h.fin) {
        in_fragmented_ = true;
        message_opcode_ = h.opcode;
        message_compressed_ = h.rsv != 0;
        message_.assign(data);
        return true;
      }
      if (h.rsv != 0) {
        return deliver_compressed(data);
      }
      deliver(data);
      return true;
    case ws::kContinuation:
      message_.append(data);
      if (h.fin) {
        in_fragmented_ = false;
        std::string msg = std::move(message_);
        message_.clear();
        if (message_compressed_) {
          message_compressed_ = false;
          return deliver_compressed(msg);
        }
        deliver(msg);
      }
      return true;
    case ws::kPing:
      if (!close_queued_) {
        push_control(ws::kPong, data);
      }
      return true;
    case ws::kPong:
      if (native_ping_) {
        native_ping_->awaiting_pong = false;
      }
      return true;
    case ws::kClose: {
      if (close_sent_ || close_queued_) {
        // The peer answered our close (or closes at the same time): done.
        if (close_sent_) {
          finish();
          return false;
        }
        return true;
      }
      uint16_t code = 1000;
      if (len >= 2) {
        code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
      }
      if (client_) {
        client_->transport_closed();
      }
      peer_closed_ = true;
      enqueue_close(len >= 2 ? code : 1000, "");
      return false;
    }
    default:
      return true;
  }
}

void WebSocketSession::deliver(std::string_view message) {
  if (close_queued_ || !client_) {
    return;
  }
  if (!opts_.unidirectional) {
    client_->handle_frame(message);
    return;
  }
  if (uni_connect_seen_) {
    return;  // a unidirectional client has nothing more to say
  }
  uni_connect_seen_ = true;
  protocol::ConnectRequest req;
  if (!protocol::json_codec().decode_connect_request(message, req)) {
    client_->disconnect(disconnects::bad_request());
    return;
  }
  client_->connect_unidirectional(std::move(req));
}

bool WebSocketSession::deliver_compressed(std::string_view data) {
  if (close_queued_ || !client_) {
    return true;
  }
  // One inflate buffer per shard; the message is handled before the next one is inflated.
  thread_local std::string plain;
  auto r = ws::inflate_message(plain, data, static_cast<size_t>(opts_.message_size_limit));
  if (r == ws::InflateResult::kTooBig) {
    // websocket_message_size_limit bounds the message as the application sees it.
    fail_protocol(1009, "");
    plain.clear();
    return false;
  }
  if (r == ws::InflateResult::kInvalid) {
    // Centrifuge reads the command from the inflating reader: a read error is a bad request.
    client_->disconnect(disconnects::bad_request());
    return true;
  }
  deliver(plain);
  if (plain.capacity() > 64 * 1024) {
    std::string().swap(plain);
  } else {
    plain.clear();
  }
  return true;
}

void WebSocketSession::fail_protocol(uint16_t code, std::string_view reason) {
  if (discard_input_) {
    return;
  }
  discard_input_ = true;
  if (client_) {
    client_->transport_closed();
  }
  clear_out(true);
  queued_bytes_ = 0;
  close_queued_ = false;
  enqueue_close(code, reason);
}

}  // namespace gyre::transport
