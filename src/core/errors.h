#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// The three kinds of failure (see shared/STYLE.md "Errors"):
//  1. protocol::Error  - a reply error with a Centrifugo code (client protocol §7.1);
//  2. Disconnect       - ends a connection (client protocol §7.2);
//  3. std::error_code  - I/O, mapped to 1 or 2 at the module edge.
// All types here are immutable value types.
namespace gyre {

struct Error {
  uint32_t code = 0;
  std::string message;
  bool temporary = false;

  bool operator==(const Error& o) const { return code == o.code && message == o.message; }
};

// Reply errors of the client protocol (centrifuge errors.go). Messages are exact.
namespace errors {
inline Error internal() { return {100, "internal server error", true}; }
inline Error unauthorized() { return {101, "unauthorized", false}; }
inline Error unknown_channel() { return {102, "unknown channel", false}; }
inline Error permission_denied() { return {103, "permission denied", false}; }
inline Error method_not_found() { return {104, "method not found", false}; }
inline Error already_subscribed() { return {105, "already subscribed", false}; }
inline Error limit_exceeded() { return {106, "limit exceeded", false}; }
inline Error bad_request() { return {107, "bad request", false}; }
inline Error not_available() { return {108, "not available", false}; }
inline Error token_expired() { return {109, "token expired", false}; }
inline Error expired() { return {110, "expired", false}; }
inline Error too_many_requests() { return {111, "too many requests", true}; }
inline Error unrecoverable_position() { return {112, "unrecoverable position", false}; }
}  // namespace errors

// A server-initiated end of a connection. Codes 3000-3499 and 4000-4499 mean
// "reconnect", 3500-3999 and 4500-4999 mean "do not reconnect". reason < 123 bytes.
struct Disconnect {
  uint32_t code = 0;
  std::string reason;

  bool operator==(const Disconnect& o) const { return code == o.code && reason == o.reason; }
};

namespace disconnects {
inline Disconnect connection_closed() { return {3000, "connection closed"}; }
inline Disconnect shutdown() { return {3001, "shutdown"}; }
inline Disconnect server_error() { return {3004, "internal server error"}; }
inline Disconnect expired() { return {3005, "connection expired"}; }
inline Disconnect subscription_expired() { return {3006, "subscription expired"}; }
inline Disconnect slow() { return {3008, "slow"}; }
inline Disconnect write_error() { return {3009, "write error"}; }
inline Disconnect insufficient_state() { return {3010, "insufficient state"}; }
inline Disconnect force_reconnect() { return {3011, "force reconnect"}; }
inline Disconnect no_pong() { return {3012, "no pong"}; }
inline Disconnect too_many_requests() { return {3013, "too many requests"}; }
inline Disconnect invalid_token() { return {3500, "invalid token"}; }
inline Disconnect bad_request() { return {3501, "bad request"}; }
inline Disconnect stale() { return {3502, "stale"}; }
inline Disconnect force_no_reconnect() { return {3503, "force disconnect"}; }
inline Disconnect connection_limit() { return {3504, "connection limit"}; }
inline Disconnect channel_limit() { return {3505, "channel limit"}; }
inline Disconnect inappropriate_protocol() { return {3506, "inappropriate protocol"}; }
inline Disconnect permission_denied() { return {3507, "permission denied"}; }
inline Disconnect not_available() { return {3508, "not available"}; }
inline Disconnect too_many_errors() { return {3509, "too many errors"}; }
}  // namespace disconnects

}  // namespace gyre
