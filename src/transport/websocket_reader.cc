#include <boost/asio/post.hpp>
#include <memory>
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
  // The wait stays pending for as long as the connection is idle: an Entry flag and the
  // session reference, no allocation (Readiness).
  socket_.wait(Readiness::kRead, as_waiter());
}

void WebSocketSession::on_ready(Readiness::Dir d) {
  if (d == Readiness::kWrite) {
    writing_ = false;
    ++timer_gen_;  // disarm the write timeout
    flush();
    return;
  }
  reading_ = false;
  on_readable();
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
    if (!pending_) {
      size_t consumed = 0;
      ok = process_input(buf.data(), n, consumed);
      if (ok && !finished_ && consumed < n) {
        pending_ = std::make_unique<std::string>(
            reinterpret_cast<const char*>(buf.data()) + consumed, n - consumed);
      }
    } else {
      pending_->append(reinterpret_cast<const char*>(buf.data()), n);
      size_t consumed = 0;
      ok = process_input(reinterpret_cast<uint8_t*>(pending_->data()), pending_->size(),
                         consumed);
      if (ok && !finished_) {
        pending_->erase(0, consumed);
        if (pending_->empty()) {
          pending_.reset();  // idle connections keep no buffer
        }
      }
    }
    if (!ok || finished_) {
      if (discard_input_) {
        pending_.reset();
      }
      return;
    }
    if (n < buf.size()) {
      break;
    }
  }
  wait_readable();
}

// Parses and handles every complete frame in [data, data+size) (ws::MessageReader). Returns
// false when the connection failed or is finished (reading stops).
bool WebSocketSession::process_input(uint8_t* data, size_t size, size_t& consumed) {
  const ws::ReadLimits limits{static_cast<uint32_t>(opts_.message_size_limit), opts_.deflate};
  bool ok = true;
  consumed = reader_.feed(data, size, limits, [this, &ok](const ws::ReadEvent& e) {
    switch (e.kind) {
      case ws::ReadEvent::kProtocolError:
        fail_protocol(1002, "protocol error");
        ok = false;
        return false;
      case ws::ReadEvent::kTooBig:
        // The reason is empty, as gorilla/websocket sends it.
        fail_protocol(1009, "");
        ok = false;
        return false;
      default:
        break;
    }
    if (!handle_event(e)) {
      ok = !finished_;
      return false;
    }
    if (finished_) {
      ok = false;
      return false;
    }
    return true;
  });
  return ok;
}

bool WebSocketSession::handle_event(const ws::ReadEvent& e) {
  switch (e.kind) {
    case ws::ReadEvent::kMessage:
      if (e.compressed) {
        return deliver_compressed(e.data);
      }
      deliver(e.data);
      return true;
    case ws::ReadEvent::kPing:
      if (!close_queued_) {
        push_control(ws::kPong, e.data);
      }
      return true;
    case ws::ReadEvent::kPong:
      if (native_ping_) {
        native_ping_->awaiting_pong = false;
      }
      return true;
    case ws::ReadEvent::kClose:
      if (close_sent_ || close_queued_) {
        // The peer answered our close (or closes at the same time): done.
        if (close_sent_) {
          finish();
          return false;
        }
        return true;
      }
      if (client_) {
        client_->transport_closed();
      }
      peer_closed_ = true;
      enqueue_close(e.close_code, "");
      return false;
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
