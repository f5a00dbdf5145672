#pragma once

#include <optional>
#include <string>
#include <string_view>

// Base64 helpers. Thread-safe (pure functions).
namespace gyre::base64 {

// Standard alphabet with '=' padding (Go base64.StdEncoding).
std::string encode_std(std::string_view in);
std::optional<std::string> decode_std(std::string_view in);

// URL alphabet without padding (RFC 7515, JWT segments). A '=' is an error.
std::string encode_url(std::string_view in);
std::optional<std::string> decode_url(std::string_view in);

}  // namespace gyre::base64
