#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/errors.h"
#include "hub/fanout.h"
#include "protocol/codec.h"

// What a client session needs from its transport (centrifuge transport.go). Implemented by
// transport/websocket and, later, the HTTP-streaming, SSE and unidirectional transports.
// Shard-local: called only on the connection's shard.
namespace gyre::node {

struct TransportInfo {
  std::string_view name;  // "websocket", "http_stream", ...
  bool unidirectional = false;
  bool emulation = false;     // HTTP-streaming / SSE: connect result carries session + node
  bool app_level_ping = true; // false with cf_ws_frame_ping_pong
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual const protocol::Codec& codec() const = 0;
  virtual TransportInfo info() const = 0;

  // Queues one encoded message (a reply or a push) for this connection. Messages queued in
  // one event-loop turn go out together (several per frame, one write).
  virtual void send(std::string message) = 0;
  // Queues a pre-encoded push shared by all subscribers (encoded once per fan-out).
  virtual void send_shared(const std::shared_ptr<const hub::Fanout>& f,
                           hub::Fanout::Form form = hub::Fanout::Form::kPlain) = 0;
  // Ends the connection: flushes what is queued (except after 3008 slow), then conveys
  // the disconnect (WebSocket close frame; disconnect push on other transports). Idempotent.
  virtual void close(const Disconnect& d) = 0;
  // Unidirectional transports: the connect failed with this error or disconnect code, before
  // close() is called with the disconnect to convey. Transports that can answer a failed
  // connect with a plain HTTP response (uni_*_connect_code_to_http_response) note it here.
  virtual void connect_failed(uint32_t /*code*/, std::string_view /*message*/) {}
  // A broadcast's prefetch hint (hub::Subscriber::prefetch): fetch the output queue's memory
  // that the next send_shared() will touch. The object itself is fetched by the caller.
  virtual void prefetch_output() const {}
};

}  // namespace gyre::node
