#include "load/pb_codec.h"

namespace gyre::bench::pb {
namespace {

constexpr uint8_t kVarint = 0;
constexpr uint8_t kFixed64 = 1;
constexpr uint8_t kLen = 2;
constexpr uint8_t kFixed32 = 5;

void append_tag(std::string& out, uint32_t field, uint8_t wire) {
  append_varint(out, (static_cast<uint64_t>(field) << 3) | wire);
}

size_t len_field_size(uint32_t field, size_t len) {
  return varint_size(static_cast<uint64_t>(field) << 3) + varint_size(len) + len;
}

void append_len_field(std::string& out, uint32_t field, std::string_view bytes) {
  append_tag(out, field, kLen);
  append_varint(out, bytes.size());
  out.append(bytes);
}

// Reads a varint at p[pos]; advances pos. False on truncation or overlong encoding.
bool read_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) {
      return false;
    }
    auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

struct Field {
  uint32_t number = 0;
  uint8_t wire = 0;
  uint64_t value = 0;     // varint value
  std::string_view bytes;  // length-delimited payload
};

// Iterates the fields of one message.
class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  // False on malformed input.
  bool next(Field& f) {
    uint64_t tag = 0;
    if (!read_varint(in_, pos_, tag)) {
      return false;
    }
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire = static_cast<uint8_t>(tag & 7);
    switch (f.wire) {
      case kVarint:
        return read_varint(in_, pos_, f.value);
      case kFixed64:
        if (in_.size() - pos_ < 8) {
          return false;
        }
        pos_ += 8;
        return true;
      case kFixed32:
        if (in_.size() - pos_ < 4) {
          return false;
        }
        pos_ += 4;
        return true;
      case kLen: {
        uint64_t len = 0;
        if (!read_varint(in_, pos_, len) || len > in_.size() - pos_) {
          return false;
        }
        f.bytes = in_.substr(pos_, len);
        pos_ += len;
        return true;
      }
      default:
        return false;
    }
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

bool decode_publication(std::string_view msg, ReplyView& r) {
  FieldReader fr(msg);
  Field f;
  while (!fr.done()) {
    if (!fr.next(f)) {
      return false;
    }
    if (f.number == 4 && f.wire == kLen) {
      r.data = f.bytes;
    } else if (f.number == 6 && f.wire == kVarint) {
      r.offset = f.value;
    }
  }
  return true;
}

bool decode_push(std::string_view msg, ReplyView& r) {
  FieldReader fr(msg);
  Field f;
  while (!fr.done()) {
    if (!fr.next(f)) {
      return false;
    }
    if (f.number == 2 && f.wire == kLen) {
      r.channel = f.bytes;
    } else if (f.number == 4 && f.wire == kLen) {
      r.has_pub = true;
      if (!decode_publication(f.bytes, r)) {
        return false;
      }
    } else if (f.number == 11 && f.wire == kLen) {
      r.has_disconnect = true;
    }
  }
  return true;
}

}  // namespace

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void append_varint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

void append_connect(std::string& out, uint32_t id, std::string_view token,
                    std::string_view name) {
  size_t inner = (token.empty() ? 0 : len_field_size(1, token.size())) +
                 (name.empty() ? 0 : len_field_size(4, name.size()));
  size_t cmd = 1 + varint_size(id) + len_field_size(4, inner);
  append_varint(out, cmd);
  append_tag(out, 1, kVarint);
  append_varint(out, id);
  append_tag(out, 4, kLen);
  append_varint(out, inner);
  if (!token.empty()) {
    append_len_field(out, 1, token);
  }
  if (!name.empty()) {
    append_len_field(out, 4, name);
  }
}

void append_subscribe(std::string& out, uint32_t id, std::string_view channel) {
  size_t inner = len_field_size(1, channel.size());
  size_t cmd = 1 + varint_size(id) + len_field_size(5, inner);
  append_varint(out, cmd);
  append_tag(out, 1, kVarint);
  append_varint(out, id);
  append_tag(out, 5, kLen);
  append_varint(out, inner);
  append_len_field(out, 1, channel);
}

void append_publish(std::string& out, uint32_t id, std::string_view channel,
                    std::string_view data) {
  size_t inner = len_field_size(1, channel.size()) + len_field_size(2, data.size());
  size_t cmd = 1 + varint_size(id) + len_field_size(7, inner);
  append_varint(out, cmd);
  append_tag(out, 1, kVarint);
  append_varint(out, id);
  append_tag(out, 7, kLen);
  append_varint(out, inner);
  append_len_field(out, 1, channel);
  append_len_field(out, 2, data);
}

std::optional<ReplyView> decode_reply(std::string_view msg) {
  ReplyView r;
  FieldReader fr(msg);
  Field f;
  while (!fr.done()) {
    if (!fr.next(f)) {
      return std::nullopt;
    }
    if (f.number == 1 && f.wire == kVarint) {
      r.id = static_cast<uint32_t>(f.value);
    } else if (f.number == 2 && f.wire == kLen) {
      r.has_error = true;
      FieldReader er(f.bytes);
      Field ef;
      while (!er.done()) {
        if (!er.next(ef)) {
          return std::nullopt;
        }
        if (ef.number == 1 && ef.wire == kVarint) {
          r.error_code = static_cast<uint32_t>(ef.value);
        }
      }
    } else if (f.number == 4 && f.wire == kLen) {
      r.has_push = true;
      if (!decode_push(f.bytes, r)) {
        return std::nullopt;
      }
    } else if (f.number >= 5 && f.number <= 15 && f.wire == kLen) {
      r.has_result = true;
    }
  }
  return r;
}

std::optional<Delimited> next_delimited(std::string_view frame) {
  size_t pos = 0;
  uint64_t len = 0;
  if (!read_varint(frame, pos, len) || len > frame.size() - pos) {
    return std::nullopt;
  }
  return Delimited{frame.substr(pos, len), pos + len};
}

}  // namespace gyre::bench::pb
