#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// proto3 binary wire format primitives (https://protobuf.dev/programming-guides/encoding/),
// private to the Protobuf codec. Encoding is two-pass: a message body is a generic callable
// run once with a Sizer (to learn its length) and once with a Writer (to emit it), so nested
// messages need neither a scratch buffer nor a memmove. All types are stack values: no shared
// state, safe on any thread.
namespace gyre::protocol::pb {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

inline constexpr size_t kMaxVarintBytes = 10;

constexpr size_t varint_size(uint64_t v) {
  return static_cast<size_t>((std::bit_width(v | 1) + 6) / 7);
}

constexpr uint64_t make_tag(uint32_t field, WireType type) {
  return (static_cast<uint64_t>(field) << 3) | type;
}

// `sint64` mapping (Publication.score, not sent yet).
constexpr uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// ---------------------------------------------------------------- encoding

// Counts the bytes a body would produce.
class Sizer {
 public:
  void varint(uint64_t v) { size_ += varint_size(v); }
  void raw(std::string_view b) { size_ += b.size(); }
  void skip(size_t n) { size_ += n; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

// Writes into memory already sized by a Sizer pass; never checks bounds.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void raw(std::string_view b) {
    if (!b.empty()) {
      std::memcpy(p_, b.data(), b.size());
      p_ += b.size();
    }
  }
  const char* pos() const { return p_; }

 private:
  char* p_;
};

template <typename S>
concept Sink = std::same_as<S, Sizer> || std::same_as<S, Writer>;

// Scalar fields omit their default (proto3 implicit presence).
template <Sink S>
void put_uint(S& s, uint32_t field, uint64_t v) {
  if (v != 0) {
    s.varint(make_tag(field, kVarint));
    s.varint(v);
  }
}

// int32 and int64: a negative value is sign-extended to 64 bits, so it takes 10 bytes.
template <Sink S>
void put_int(S& s, uint32_t field, int64_t v) {
  put_uint(s, field, static_cast<uint64_t>(v));
}

template <Sink S>
void put_bool(S& s, uint32_t field, bool v) {
  put_uint(s, field, v ? 1 : 0);
}

// string / bytes, written even when empty (map entry keys and values).
template <Sink S>
void put_bytes_always(S& s, uint32_t field, std::string_view v) {
  s.varint(make_tag(field, kLen));
  s.varint(v.size());
  s.raw(v);
}

template <Sink S>
void put_bytes(S& s, uint32_t field, std::string_view v) {
  if (!v.empty()) {
    put_bytes_always(s, field, v);
  }
}

// A sub-message, always written (explicit presence): `body(sink)` emits its fields. The
// body runs once to size it, and once more when writing.
template <Sink S, typename Body>
void put_message(S& s, uint32_t field, Body&& body) {
  Sizer inner;
  body(inner);
  s.varint(make_tag(field, kLen));
  s.varint(inner.size());
  if constexpr (std::same_as<S, Sizer>) {
    s.skip(inner.size());
  } else {
    body(s);
  }
}

// Appends one unframed message produced by `body` to `out`.
template <typename Body>
void append_message(std::string& out, Body&& body) {
  Sizer sizer;
  body(sizer);
  const size_t old = out.size();
  const size_t need = old + sizer.size();
  if (out.capacity() < need) {
    out.reserve(std::max(need, 2 * out.capacity()));  // keep appends amortized O(1)
  }
  out.resize(need);
  Writer w(out.data() + old);
  body(w);
  assert(w.pos() == out.data() + need);  // both passes saw the same fields
}

// ---------------------------------------------------------------- decoding

// One decoded field: `varint` is set for kVarint, `bytes` for kLen, `fixed` (the
// little-endian bits) for kFixed64 and kFixed32 (double/float: node-control metrics).
struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  uint64_t varint = 0;
  std::string_view bytes;
  uint64_t fixed = 0;
};

// Bounds-checked cursor over a byte range. Every read fails, rather than reads past the end,
// on truncated input.
class Reader {
 public:
  explicit Reader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}

  bool empty() const { return p_ == end_; }

  // At most 10 bytes; bits beyond 64 are dropped, as Go's generated (vtproto) decoders do.
  [[nodiscard]] bool varint(uint64_t& v) {
    v = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      if (p_ == end_) {
        return false;
      }
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) {
        return true;
      }
    }
    return false;  // an 11th byte
  }

  // A length prefix plus that many bytes.
  [[nodiscard]] bool bytes(std::string_view& v) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    v = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  // Reads the next tag and its value. Field number 0, numbers past 2^29-1 and groups (wire
  // types 3, 4: deprecated, never sent by clients) are errors; so are wire types 6 and 7.
  [[nodiscard]] bool field(Field& f) {
    uint64_t tag;
    if (!varint(tag) || tag > 0xFFFFFFFFu || (tag >> 3) == 0) {
      return false;
    }
    f.number = static_cast<uint32_t>(tag >> 3);
    f.type = static_cast<WireType>(tag & 7);
    switch (f.type) {
      case kVarint:
        return varint(f.varint);
      case kLen:
        return bytes(f.bytes);
      case kFixed64:
        return fixed(8, f.fixed);
      case kFixed32:
        return fixed(4, f.fixed);
      default:
        return false;
    }
  }

 private:
  bool fixed(size_t n, uint64_t& v) {
    if (static_cast<size_t>(end_ - p_) < n) {
      return false;
    }
    v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    }
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
};

// Calls fn(const Field&) -> bool for every field of `message`, in wire order.
template <typename Fn>
[[nodiscard]] bool for_each_field(std::string_view message, Fn&& fn) {
  Reader r(message);
  Field f;
  while (!r.empty()) {
    if (!r.field(f) || !fn(f)) {
      return false;
    }
  }
  return true;
}

// Typed reads of a known field; a wire type mismatch fails, as in Go's generated decoders.
// Integer narrowing truncates to the low bits (proto3 semantics: int32 -1 arrives as a
// 10-byte varint).
inline bool read(const Field& f, std::string& out) {
  if (f.type != kLen) {
    return false;
  }
  out.assign(f.bytes);
  return true;
}

inline bool read(const Field& f, bool& out) {
  if (f.type != kVarint) {
    return false;
  }
  out = f.varint != 0;
  return true;
}

template <std::integral T>
bool read(const Field& f, T& out) {
  if (f.type != kVarint) {
    return false;
  }
  out = static_cast<T>(f.varint);
  return true;
}

}  // namespace gyre::protocol::pb
