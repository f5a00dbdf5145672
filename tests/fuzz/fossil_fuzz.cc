// libFuzzer target: fossil delta codec (src/protocol/fossil.h, client protocol §9.5).
//
// The input is split in two at an offset given by its first two bytes (little-endian, modulo
// the rest's length + 1): source S and target T. Checked:
//  - create(S, T) applied to S gives T back; same for create_utf8_safe(S, T), whose delta is
//    valid UTF-8 whenever T is;
//  - apply() on hostile deltas (T as a delta for S, the whole rest as a delta for the empty
//    source) never crashes; when it accepts one, the output has the length the delta's
//    header announced and a matching checksum (apply verifies both; re-checked here);
//  - checksum() of a concatenation of whole 4-byte words is the sum of the parts' checksums.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "protocol/fossil.h"

namespace fossil = gyre::protocol::fossil;

namespace {

// RFC 3629 well-formedness (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) {
        return false;
      }
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The length a delta's header announces (base-64 digits of fossil's alphabet up to '\n').
std::optional<uint64_t> header_length(std::string_view delta) {
  static constexpr std::string_view kDigits =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";
  uint64_t v = 0;
  size_t i = 0;
  for (; i < delta.size() && delta[i] != '\n'; ++i) {
    size_t d = kDigits.find(delta[i]);
    if (d == std::string_view::npos || v > (uint64_t{1} << 40)) {
      return std::nullopt;
    }
    v = v * 64 + d;
  }
  if (i == 0 || i == delta.size()) {
    return std::nullopt;
  }
  return v;
}

void check_round_trip(std::string_view source, std::string_view target) {
  std::string d = fossil::create(source, target);
  auto back = fossil::apply(source, d);
  GYRE_FUZZ_CHECK(back.has_value());
  GYRE_FUZZ_CHECK(*back == target);

  std::string du = fossil::create_utf8_safe(source, target);
  auto back_u = fossil::apply(source, du);
  GYRE_FUZZ_CHECK(back_u.has_value());
  GYRE_FUZZ_CHECK(*back_u == target);
  if (valid_utf8(target)) {
    GYRE_FUZZ_CHECK(valid_utf8(du));
  }
}

void check_hostile(std::string_view source, std::string_view delta) {
  auto out = fossil::apply(source, delta);
  if (!out) {
    return;
  }
  auto len = header_length(delta);
  GYRE_FUZZ_CHECK(len.has_value());
  GYRE_FUZZ_CHECK(*len == out->size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  size_t split_hint = data[0] | (size_t{data[1]} << 8);
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t split = split_hint % (rest.size() + 1);
  std::string_view source = rest.substr(0, split);
  std::string_view target = rest.substr(split);

  check_round_trip(source, target);
  check_round_trip(target, source);
  check_hostile(source, target);
  check_hostile({}, rest);

  // The checksum sums big-endian words: aligned concatenation adds (mod 2^32).
  if (split % 4 == 0) {
    GYRE_FUZZ_CHECK(fossil::checksum(rest) ==
                    static_cast<uint32_t>(fossil::checksum(source) + fossil::checksum(target)));
  }
  return 0;
}
