// libFuzzer target: gobwas/glob-compatible patterns (src/core/glob.h), used by the API
// `channels` pattern and `allowed_origins`.
//
// The input is `pattern \0 subject`. Compiling any pattern and matching any subject must not
// crash or hang (the NFA is linear in the subject). Beyond that, properties that hold for every
// pattern built from the input:
//  - a literal (every meta character escaped) matches exactly itself;
//  - `*` + literal matches every subject ending in the literal, and `literal*` every subject
//    starting with it;
//  - `{a,b}` (alternatives, each escaped) matches a and b;
//  - `?` matches exactly one rune.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/glob.h"
#include "fuzz_check.h"

using gyre::Glob;

namespace {

// Escapes every character gobwas/glob treats specially.
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' ||
        c == '\\' || c == '!' || c == '-') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// Go's utf8.ValidString: no overlong forms, surrogates or code points above U+10FFFF.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view pattern = in.substr(0, nul);
  std::string_view subject = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);

  if (auto g = Glob::compile(pattern)) {
    (void)g->match(subject);
    (void)g->match(pattern);
  }

  // The properties need runes (patterns with invalid UTF-8 are refused at compile time) and no
  // U+0000, which ends a pattern in gobwas/glob v0.2.3 (so it cannot be escaped).
  if (!valid_utf8(pattern) || !valid_utf8(subject) ||
      subject.find('\0') != std::string_view::npos) {
    return 0;
  }
  auto lit = Glob::compile(escape(pattern));
  GYRE_FUZZ_CHECK(lit.has_value());
  GYRE_FUZZ_CHECK(lit->match(pattern));
  GYRE_FUZZ_CHECK(lit->match(subject) == (subject == pattern));

  auto suffix = Glob::compile("*" + escape(pattern));
  GYRE_FUZZ_CHECK(suffix.has_value());
  GYRE_FUZZ_CHECK(suffix->match(std::string(subject) + std::string(pattern)));
  auto prefix = Glob::compile(escape(pattern) + "*");
  GYRE_FUZZ_CHECK(prefix.has_value());
  GYRE_FUZZ_CHECK(prefix->match(std::string(pattern) + std::string(subject)));
  GYRE_FUZZ_CHECK(prefix->match(subject) == subject.starts_with(pattern));

  auto alt = Glob::compile("{" + escape(pattern) + "," + escape(subject) + "}");
  GYRE_FUZZ_CHECK(alt.has_value());
  GYRE_FUZZ_CHECK(alt->match(pattern) && alt->match(subject));

  auto one = Glob::compile("?");
  GYRE_FUZZ_CHECK(one.has_value());
  size_t runes = 0;
  for (char c : subject) {
    runes += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  GYRE_FUZZ_CHECK(one->match(subject) == (runes == 1));
  return 0;
}
