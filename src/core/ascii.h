#pragma once

#include <string>
#include <string_view>

// ASCII case folding, the one definition for every case-insensitive comparison Gyre makes:
// JSON keys as Go's encoding/json matches them, HTTP header tokens, Origin patterns, config
// file extensions and environment names. Bytes outside A-Z are left alone (UTF-8 safe).
namespace gyre {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace gyre
