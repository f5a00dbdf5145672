#pragma once

#include <string>
#include <string_view>

// HS256 connection tokens for the Gyre/Centrifugo target. Stateless.
namespace gyre::bench {

std::string base64url(std::string_view bytes);

// base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256(secret, signing input)),
// RFC 7519 §3 with the JWS compact serialization (RFC 7515 §7.1).
std::string sign_hs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret);

// A connection token for user `user`: {"sub":user}, no expiry (Centrifugo reads `sub` as the
// user id; a missing `exp` means the connection never expires).
std::string connection_token(std::string_view user, std::string_view secret);

}  // namespace gyre::bench
