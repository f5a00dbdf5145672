#pragma once

#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/glob.h"
#include "protocol/types.h"
#include "transport/websocket_session.h"

// WebSocket upgrade negotiation (RFC 6455 §4.2, client-protocol.md §8.1, §8.3.1,
// reference.md §1.2-§1.3, §1.9) as a pure function of the request and the configuration: the
// handshake check, the Origin policy, the subprotocol / Protobuf choice, permessage-deflate,
// the per-transport options (uni_websocket reads only its own `uni_websocket_*` keys) and the
// 101 response. No I/O, no Beast, no node state (connection limits are checked by the caller):
// unit-tested in tests/unit/transport. Stateless functions: thread-safe.
namespace gyre::transport {

// allowed_origins (reference.md §1.2): no Origin header passes; with an empty list only a
// same-origin request passes (Origin host == Host, Centrifuge's default check); otherwise the
// lower-cased Origin must match one of `globs`, the configured patterns lower-cased and compiled
// (compile_origin_globs).
bool origin_allowed(std::span<const Glob> globs, bool list_empty, std::string_view origin,
                    std::string_view host);
// allowed_origins compiled as origin_allowed expects (patterns validate() accepted).
std::vector<Glob> compile_origin_globs(const std::vector<std::string>& patterns);

// True when the comma-separated header `value` holds `token` (case-insensitive, trimmed).
bool header_has_token(std::string_view value, std::string_view token);

// The parts of an upgrade request negotiation reads.
struct UpgradeRequest {
  std::string_view method;  // "GET"
  std::string_view upgrade;
  std::string_view connection;
  std::string_view version;  // Sec-WebSocket-Version
  std::string_view key;      // Sec-WebSocket-Key
  std::string_view origin;
  std::string_view host;
  std::string_view protocols;  // Sec-WebSocket-Protocol
  std::string extensions;      // every Sec-WebSocket-Extensions line, joined with ", "
  std::string_view query;      // the request target after `?`
  bool unidirectional = false;  // uni_websocket endpoint
};

struct UpgradeAccepted {
  WebSocketOptions options;
  // uni_websocket `cf_connect` in the URL (Centrifugo v6.3); v5.4 clients send the
  // ConnectRequest as the first message instead.
  std::optional<protocol::ConnectRequest> uni_connect;
  // The complete `101 Switching Protocols` response head.
  std::string response;
  // websocket(_uni)_compression_level outside -2..9: gorilla refuses it and keeps level 1;
  // the caller logs this once.
  bool invalid_compression_level = false;
};

struct UpgradeRefused {
  int status = 400;  // 400 bad handshake / bad cf_connect, 403 origin not allowed
  std::string body;
  std::string content_type;
};

std::expected<UpgradeAccepted, UpgradeRefused> negotiate_websocket(
    const UpgradeRequest& req, const config::Config& cfg, std::span<const Glob> origin_globs);

}  // namespace gyre::transport
