#include "transport/ws_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <memory>
#include <vector>

#include "core/ascii.h"

namespace gyre::transport::ws {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits at `sep` outside double quotes.
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
    if (u <= 32 || u >= 127 || kSeparators.find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// RFC 7692 §7.1.2: 1*DIGIT in 8..15, without leading zeros.
std::optional<int> window_bits(std::string_view v) {
  if (v.empty() || v.size() > 2 || v[0] == '0') {
    return std::nullopt;
  }
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) {
    return std::nullopt;
  }
  return n;
}

bool acceptable_offer(const std::vector<std::string_view>& parts) {
  bool seen[4] = {false, false, false, false};
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = trim(parts[i]);
    size_t eq = p.find('=');
    std::string_view name = trim(p.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) {
      std::string_view v = trim(p.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);  // window bits are digits: no escapes to undo
      }
      value = v;
    }
    int idx = -1;
    if (ascii_iequals(name, "server_no_context_takeover")) {
      idx = 0;
    } else if (ascii_iequals(name, "client_no_context_takeover")) {
      idx = 1;
    } else if (ascii_iequals(name, "server_max_window_bits")) {
      idx = 2;
    } else if (ascii_iequals(name, "client_max_window_bits")) {
      idx = 3;
    } else {
      return false;
    }
    if (seen[idx]) {
      return false;
    }
    seen[idx] = true;
    switch (idx) {
      case 0:
      case 1:
        if (value) {
          return false;
        }
        break;
      case 2: {
        auto bits = value ? window_bits(*value) : std::nullopt;
        if (!bits || *bits < 15) {
          return false;
        }
        break;
      }
      default:
        if (value && !window_bits(*value)) {
          return false;
        }
        break;
    }
  }
  return true;
}

// One raw-deflate stream per thread, level and size class, reset per message. deflateReset
// clears the match hash table: 64 KiB at zlib's default memLevel 8, which made a 100-byte
// message cost ~6 us. Small messages use memLevel 1 (a 512-byte table): the same output format,
// the same window, a cheap reset and, at these sizes, nearly the same ratio.
constexpr size_t kSmallMessage = 4096;

struct Deflater {
  Deflater(int level, int mem_level) {
    int strategy = Z_DEFAULT_STRATEGY;
    if (level == -2) {
      level = 1;
      strategy = Z_HUFFMAN_ONLY;
    }
    int rc = deflateInit2(&zs, level, Z_DEFLATED, -15, mem_level, strategy);
    assert(rc == Z_OK);
    (void)rc;
  }
  ~Deflater() { deflateEnd(&zs); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  z_stream zs{};
};

struct Inflater {
  Inflater() {
    int rc = inflateInit2(&zs, -15);
    assert(rc == Z_OK);
    (void)rc;
  }
  ~Inflater() { inflateEnd(&zs); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream zs{};
};

Deflater& deflater(int level, bool small) {
  thread_local std::array<std::unique_ptr<Deflater>, 24> by_level;
  auto& d = by_level[static_cast<size_t>(level + 2) * 2 + (small ? 1 : 0)];
  if (!d) {
    d = std::make_unique<Deflater>(level, small ? 1 : 8);
  } else {
    deflateReset(&d->zs);
  }
  return *d;
}

constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

bool accept_deflate_offer(std::string_view header) {
  for (std::string_view ext : split_unquoted(header, ',')) {
    auto parts = split_unquoted(ext, ';');
    std::string_view name = trim(parts[0]);
    if (!is_token(name) || !ascii_iequals(name, "permessage-deflate")) {
      continue;
    }
    if (acceptable_offer(parts)) {
      return true;
    }
  }
  return false;
}

bool valid_compression_level(int level) { return level >= -2 && level <= 9; }

void deflate_message(std::string& out, std::string_view in, int level) {
  if (!valid_compression_level(level)) {
    level = 1;
  }
  z_stream& zs = deflater(level, in.size() <= kSmallMessage).zs;
  size_t base = out.size();
  // deflateBound covers one deflate() call with Z_FINISH; a sync flush adds at most the
  // empty stored block (5 bytes) and a few bits more.
  size_t bound = deflateBound(&zs, static_cast<uLong>(in.size())) + 16;
  out.resize(base + bound);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data() + base);
  zs.avail_out = static_cast<uInt>(bound);
  while (true) {
    int rc = deflate(&zs, Z_SYNC_FLUSH);
    assert(rc == Z_OK || rc == Z_BUF_ERROR);
    (void)rc;
    if (zs.avail_out != 0) {
      break;
    }
    // Not expected with deflateBound, but never truncate: grow and continue.
    size_t used = out.size() - base;
    out.resize(out.size() + 64);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + base + used);
    zs.avail_out = 64;
  }
  size_t produced = out.size() - zs.avail_out;
  out.resize(produced);
  // A sync flush ends with an empty stored block: 00 00 ff ff, dropped on the wire.
  if (out.size() - base >= 4 &&
      std::string_view(out).substr(out.size() - 4) ==
          std::string_view(reinterpret_cast<const char*>(kTail), 4)) {
    out.resize(out.size() - 4);
  }
  zs.next_in = nullptr;
  zs.next_out = nullptr;
}

InflateResult inflate_message(std::string& out, std::string_view in, size_t limit) {
  thread_local Inflater inf;
  z_stream& zs = inf.zs;
  inflateReset(&zs);
  out.clear();
  constexpr size_t kStep = 16 * 1024;
  const std::string_view parts[2] = {in,
                                     std::string_view(reinterpret_cast<const char*>(kTail), 4)};
  InflateResult result = InflateResult::kOk;
  bool ended = false;
  for (std::string_view part : parts) {
    if (ended || result != InflateResult::kOk) {
      break;  // after a final block, whatever follows (only our tail) is ignored
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    zs.avail_in = static_cast<uInt>(part.size());
    while (true) {
      size_t used = out.size();
      // At most limit + 1 bytes: one byte past the limit proves it is exceeded.
      size_t room = std::min(kStep, limit + 1 - used);
      out.resize(used + room);
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      zs.avail_out = static_cast<uInt>(room);
      int rc = inflate(&zs, Z_SYNC_FLUSH);
      size_t left = zs.avail_out;
      out.resize(used + (room - left));
      if (out.size() > limit) {
        result = InflateResult::kTooBig;
        break;
      }
      if (rc == Z_STREAM_END) {
        ended = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        result = InflateResult::kInvalid;
        break;
      }
      if (left != 0 && (zs.avail_in == 0 || rc == Z_BUF_ERROR)) {
        break;  // input consumed and output flushed, or no progress possible
      }
    }
  }
  zs.next_in = nullptr;
  zs.next_out = nullptr;
  return result;
}

}  // namespace gyre::transport::ws
