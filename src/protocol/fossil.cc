#include "protocol/fossil.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

namespace gyre::protocol::fossil {
namespace {

// §9.5 integer digits, value order: 0-9, A-Z, _, a-z, ~.
constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";

// Fossil's NHASH: source blocks and the target's rolling window are 16 bytes (delta.c).
constexpr int64_t kWindow = 16;
// delta.c gives up on a hash bucket's collision chain after this many blocks, which bounds the
// encoder's work on repetitive sources.
constexpr int kChainLimit = 250;
// The enhanced encoder's look-ahead after a hit only pays off when the hit is short (a
// look-alike block); past this length it takes the hit at once. Without the cut-off, periodic
// sources (every block a candidate, each extending far) cost ~20x delta_create's time.
constexpr int64_t kLongMatch = 256;

// Value of a digit byte, or -1. Bytes >= 0x80 are never digits (centrifuge-js masks them to
// 7 bits; no encoder emits them, so refusing them is only stricter).
int digit_value(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'Z') {
    return c - 'A' + 10;
  }
  if (c == '_') {
    return 36;
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 37;
  }
  if (c == '~') {
    return 63;
  }
  return -1;
}

int digit_count(uint64_t v) {
  int n = 1;
  while (v >= 64) {
    v >>= 6;
    ++n;
  }
  return n;
}

void put_int(std::string& out, uint64_t v) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = kDigits[v & 63];
    v >>= 6;
  } while (v > 0);
  while (n > 0) {
    out += buf[--n];
  }
}

// One command of a delta, in target order. An insert carries target[t_begin, t_begin + len);
// a copy produces the same range from source[src_off, src_off + len).
struct Segment {
  bool copy;
  int64_t t_begin;
  int64_t len;
  int64_t src_off;
};

// The bytes a copy command costs: "<len>@<off>,".
int64_t copy_cost(const Segment& s) { return digit_count(s.len) + digit_count(s.src_off) + 2; }

int64_t encoded_size(const std::vector<Segment>& segs, std::string_view target) {
  int64_t n = digit_count(target.size()) + 1;
  for (const Segment& s : segs) {
    n += s.copy ? copy_cost(s) : digit_count(s.len) + 1 + s.len;
  }
  return n + digit_count(checksum(target)) + 1;
}

std::string encode(const std::vector<Segment>& segs, std::string_view target) {
  std::string out;
  out.reserve(static_cast<size_t>(encoded_size(segs, target)));
  put_int(out, target.size());
  out += '\n';
  for (const Segment& s : segs) {
    put_int(out, s.len);
    if (s.copy) {
      out += '@';
      put_int(out, s.src_off);
      out += ',';
    } else {
      out += ':';
      out.append(target.substr(s.t_begin, s.len));
    }
  }
  put_int(out, checksum(target));
  out += ';';
  return out;
}

// Turns copies that cost more than their bytes as literal text into inserts, then merges
// adjacent inserts. Next to an insert a converted copy costs its bytes plus at most one more
// length digit; alone it needs its own insert header. Never makes a delta longer, and never
// moves a segment boundary that is not a copy's own end (create_utf8_safe relies on this).
std::vector<Segment> normalize(const std::vector<Segment>& segs) {
  std::vector<Segment> out;
  out.reserve(segs.size());
  for (size_t i = 0; i < segs.size(); ++i) {
    Segment s = segs[i];
    if (s.len == 0) {
      continue;
    }
    if (s.copy) {
      const bool next_is_insert = i + 1 < segs.size() && !segs[i + 1].copy && segs[i + 1].len > 0;
      const bool beside_insert = next_is_insert || (!out.empty() && !out.back().copy);
      const int64_t as_insert = s.len + (beside_insert ? 1 : digit_count(s.len) + 1);
      if (as_insert <= copy_cost(s)) {
        s.copy = false;
      }
    }
    if (!s.copy && !out.empty() && !out.back().copy) {
      out.back().len += s.len;
      continue;
    }
    out.push_back(s);
  }
  return out;
}

// Fossil's rolling hash over a 16-byte window (delta.c hash_init/hash_next/hash_32bit),
// on unsigned bytes like the Go and JS ports.
class RollingHash {
 public:
  explicit RollingHash(const unsigned char* p) {
    uint16_t a = p[0];
    uint16_t b = p[0];
    for (int i = 1; i < kWindow; ++i) {
      a = static_cast<uint16_t>(a + p[i]);
      b = static_cast<uint16_t>(b + a);
    }
    std::memcpy(z_, p, kWindow);
    a_ = a;
    b_ = b;
  }
  void next(unsigned char c) {
    const uint16_t old = z_[i_];
    z_[i_] = c;
    i_ = (i_ + 1) & (kWindow - 1);
    a_ = static_cast<uint16_t>(a_ - old + c);
    b_ = static_cast<uint16_t>(b_ - kWindow * old + a_);
  }
  uint32_t value() const { return a_ | (static_cast<uint32_t>(b_) << 16); }

 private:
  uint16_t a_ = 0;
  uint16_t b_ = 0;
  int64_t i_ = 0;
  unsigned char z_[kWindow];
};

// Fossil's delta_create, command for command, as segments.
//
// delta_create takes the first landmark hit. In repetitive payloads (JSON arrays of similar
// objects) that is often a look-alike block elsewhere in the source: the copy stops after a
// few bytes and the delta fills up with short copies and one-byte inserts. With `enhanced`
// two changes address this: at every target position it also tries the source position that
// continues the previous copy's alignment, and after the first hit it keeps looking for one
// more window and takes the candidate that copies most beyond its literal prefix.
// create() keeps whichever variant encodes shorter, so this never loses to delta_create.
std::vector<Segment> reference_segments(std::string_view source, std::string_view target,
                                        bool enhanced) {
  const auto* src = reinterpret_cast<const unsigned char*>(source.data());
  const auto* out = reinterpret_cast<const unsigned char*>(target.data());
  const auto len_src = static_cast<int64_t>(source.size());
  const auto len_out = static_cast<int64_t>(target.size());
  std::vector<Segment> segs;
  // A source no longer than one window can never yield a landmark: insert everything.
  if (len_src <= kWindow) {
    segs.push_back({false, 0, len_out, 0});
    return segs;
  }

  // Landmarks: the hash of each whole 16-byte source block, chained on collision.
  const int64_t n_hash = len_src / kWindow;
  std::vector<int64_t> collide(static_cast<size_t>(n_hash), -1);
  std::vector<int64_t> landmark(static_cast<size_t>(n_hash), -1);
  for (int64_t i = 0; i < len_src - kWindow; i += kWindow) {
    const auto hv = static_cast<int64_t>(RollingHash(src + i).value() % n_hash);
    collide[i / kWindow] = landmark[hv];
    landmark[hv] = i / kWindow;
  }

  int64_t base = 0;   // Everything before target[base] is already covered by segments.
  int64_t shift = 0;  // Source offset minus target offset of the last copy.
  while (base + kWindow < len_out) {
    RollingHash h(out + base);
    int64_t i = 0;  // Matching a landmark against target[base + i].
    int64_t best_cnt = 0;
    int64_t best_ofst = 0;
    int64_t best_litsz = 0;
    int64_t best_score = 0;
    int64_t commit_at = -1;  // Enhanced: the value of i at which the best candidate is taken.
    // Extends a candidate forwards from source[i_src] / target[base + i], then backwards but
    // not before target[base], and keeps it if it is the longest so far and pays for itself.
    const auto consider = [&](int64_t i_src) {
      int64_t y = base + i;
      const int64_t limit_x = (len_src - i_src <= len_out - y) ? len_src : i_src + len_out - y;
      int64_t x = i_src;
      for (; x < limit_x; ++x, ++y) {
        if (src[x] != out[y]) {
          break;
        }
      }
      const int64_t j = x - i_src - 1;
      int64_t k = 1;
      for (; k < i_src && k <= i; ++k) {
        if (src[i_src - k] != out[base + i - k]) {
          break;
        }
      }
      --k;
      const int64_t ofst = i_src - k;
      const int64_t cnt = j + k + 1;
      const int64_t litsz = i - k;
      // Overhead of the insert and copy headers: a copy that does not pay for them is worse
      // than a literal.
      const int64_t sz = digit_count(litsz) + digit_count(cnt) + digit_count(ofst) + 3;
      const int64_t score = enhanced ? cnt - litsz : cnt;
      if (cnt >= sz && (best_cnt == 0 || score > best_score)) {
        best_score = score;
        best_cnt = cnt;
        best_ofst = ofst;
        best_litsz = litsz;
      }
    };
    while (true) {
      int64_t block = landmark[h.value() % n_hash];
      int limit = kChainLimit;
      while (block >= 0 && limit-- > 0) {
        consider(block * kWindow);
        block = collide[block];
      }
      if (enhanced) {
        // A whole window must agree, like a landmark hit, so the probe stays O(window).
        const int64_t i_src = base + i + shift;
        if (i_src >= 0 && i_src + kWindow <= len_src &&
            std::memcmp(src + i_src, out + base + i, kWindow) == 0) {
          consider(i_src);
        }
      }

      if (best_cnt > 0 && commit_at < 0) {
        commit_at = enhanced ? i + kWindow : i;
      }
      // Stop looking once the window hits the end, or a candidate already copies to the end.
      const bool at_end = base + i + kWindow >= len_out || base + best_litsz + best_cnt == len_out;
      if (best_cnt > 0 && (i >= commit_at || at_end || best_cnt >= kLongMatch)) {
        if (best_litsz > 0) {
          segs.push_back({false, base, best_litsz, 0});
          base += best_litsz;
        }
        segs.push_back({true, base, best_cnt, best_ofst});
        shift = best_ofst - base;
        base += best_cnt;
        break;
      }
      if (base + i + kWindow >= len_out) {
        // End of the target without a match: the rest is literal.
        segs.push_back({false, base, len_out - base, 0});
        base = len_out;
        break;
      }
      h.next(out[base + i + kWindow]);
      ++i;
    }
  }
  if (base < len_out) {
    segs.push_back({false, base, len_out - base, 0});
  }
  return segs;
}

// §9.5's simple encoder: copy the common prefix, insert the middle, copy the common suffix.
std::vector<Segment> prefix_suffix_segments(std::string_view source, std::string_view target) {
  const size_t max_common = std::min(source.size(), target.size());
  size_t prefix = 0;
  while (prefix < max_common && source[prefix] == target[prefix]) {
    ++prefix;
  }
  size_t suffix = 0;
  while (suffix < max_common - prefix &&
         source[source.size() - 1 - suffix] == target[target.size() - 1 - suffix]) {
    ++suffix;
  }
  const auto len_t = static_cast<int64_t>(target.size());
  const auto p = static_cast<int64_t>(prefix);
  const auto s = static_cast<int64_t>(suffix);
  return {{true, 0, p, 0},
          {false, p, len_t - p - s, 0},
          {true, len_t - s, s, static_cast<int64_t>(source.size()) - s}};
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Moves both ends of every copy onto a character boundary of `target` and turns the bytes
// given up into inserts, so each insert holds whole characters (§9.3).
std::vector<Segment> align_to_utf8(const std::vector<Segment>& segs, std::string_view target) {
  const auto len_t = static_cast<int64_t>(target.size());
  const auto at_boundary = [&](int64_t pos) {
    return pos >= len_t || !is_continuation(static_cast<unsigned char>(target[pos]));
  };
  std::vector<Segment> out;
  out.reserve(segs.size() * 2 + 1);
  int64_t pos = 0;  // Start of the bytes not yet covered.
  for (const Segment& s : segs) {
    if (!s.copy) {
      continue;
    }
    int64_t begin = s.t_begin;
    int64_t end = s.t_begin + s.len;
    while (begin < end && !at_boundary(begin)) {
      ++begin;
    }
    while (end > begin && !at_boundary(end)) {
      --end;
    }
    if (begin == end) {
      continue;
    }
    if (begin > pos) {
      out.push_back({false, pos, begin - pos, 0});
    }
    out.push_back({true, begin, end - begin, s.src_off + (begin - s.t_begin)});
    pos = end;
  }
  if (pos < len_t) {
    out.push_back({false, pos, len_t - pos, 0});
  }
  return out;
}

std::string create_impl(std::string_view source, std::string_view target, bool utf8_safe) {
  // The JS decoder reads integers as 32-bit values (§9.5); payloads are far below this.
  assert(source.size() <= std::numeric_limits<uint32_t>::max());
  assert(target.size() <= std::numeric_limits<uint32_t>::max());
  // Three candidates; the shortest encoding wins, ties going to the earlier one (the plain
  // reference encoder, whose output matches Centrifuge's Go encoder).
  std::vector<std::vector<Segment>> candidates = {
      reference_segments(source, target, false),
      reference_segments(source, target, true),
      prefix_suffix_segments(source, target),
  };
  size_t best = 0;
  int64_t best_size = std::numeric_limits<int64_t>::max();
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (utf8_safe) {
      candidates[c] = align_to_utf8(candidates[c], target);
    }
    candidates[c] = normalize(candidates[c]);
    const int64_t size = encoded_size(candidates[c], target);
    if (size < best_size) {
      best = c;
      best_size = size;
    }
  }
  return encode(candidates[best], target);
}

// Reads §9.5 integers and operators from a delta, never past its end.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }

  // One or more digits; nullopt when there are none or the value exceeds 32 bits.
  std::optional<uint32_t> get_int() {
    uint64_t v = 0;
    const size_t start = pos_;
    while (pos_ < data_.size()) {
      const int d = digit_value(static_cast<unsigned char>(data_[pos_]));
      if (d < 0) {
        break;
      }
      v = (v << 6) | static_cast<uint64_t>(d);
      if (v > std::numeric_limits<uint32_t>::max()) {
        return std::nullopt;
      }
      ++pos_;
    }
    if (pos_ == start) {
      return std::nullopt;
    }
    return static_cast<uint32_t>(v);
  }

  std::optional<char> get_char() {
    if (done()) {
      return std::nullopt;
    }
    return data_[pos_++];
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

uint32_t checksum(std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    sum += (static_cast<uint32_t>(p[i]) << 24) | (static_cast<uint32_t>(p[i + 1]) << 16) |
           (static_cast<uint32_t>(p[i + 2]) << 8) | static_cast<uint32_t>(p[i + 3]);
  }
  // The last partial word is padded with zero bytes on the right.
  for (int shift = 24; i < n; ++i, shift -= 8) {
    sum += static_cast<uint32_t>(p[i]) << shift;
  }
  return sum;
}

std::string create(std::string_view source, std::string_view target) {
  return create_impl(source, target, false);
}

std::string create_utf8_safe(std::string_view source, std::string_view target) {
  return create_impl(source, target, true);
}

std::optional<std::string> apply(std::string_view source, std::string_view delta) {
  Reader r(delta);
  const std::optional<uint32_t> limit = r.get_int();
  if (!limit || r.get_char() != '\n') {
    return std::nullopt;
  }
  std::string out;
  // The header is untrusted: reserve no more than the inputs could plausibly produce.
  out.reserve(std::min<size_t>(*limit, source.size() + delta.size()));
  uint64_t total = 0;
  while (!r.done()) {
    const std::optional<uint32_t> cnt = r.get_int();
    const std::optional<char> op = cnt ? r.get_char() : std::nullopt;
    if (!op) {
      return std::nullopt;
    }
    switch (*op) {
      case '@': {
        const std::optional<uint32_t> ofst = r.get_int();
        if (!ofst) {
          return std::nullopt;
        }
        // The ',' may be missing only at the very end, which then fails as unterminated.
        if (!r.done() && r.get_char() != ',') {
          return std::nullopt;
        }
        total += *cnt;
        if (total > *limit || uint64_t{*ofst} + *cnt > source.size()) {
          return std::nullopt;
        }
        out.append(source.substr(*ofst, *cnt));
        break;
      }
      case ':': {
        total += *cnt;
        if (total > *limit || *cnt > r.remaining()) {
          return std::nullopt;
        }
        out.append(delta.substr(r.pos(), *cnt));
        r.skip(*cnt);
        break;
      }
      case ';': {
        // *cnt is the checksum here. Trailing bytes mean an encoder bug: refuse them.
        if (!r.done() || total != *limit || *cnt != checksum(out)) {
          return std::nullopt;
        }
        return out;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;  // No ';'.
}

}  // namespace gyre::protocol::fossil
