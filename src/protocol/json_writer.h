#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

// Minimal append-only JSON writer used by every JSON encoder in Gyre (client protocol,
// server API). It writes keys in the order the caller gives them and never allocates beyond
// the target string. Not thread-safe; one per encode call.
namespace gyre::protocol {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() {
    comma();
    out_ += '{';
    first_ = true;
  }
  void end_object() {
    out_ += '}';
    first_ = false;
  }
  void begin_array() {
    comma();
    out_ += '[';
    first_ = true;
  }
  void end_array() {
    out_ += ']';
    first_ = false;
  }
  // Writes `"name":` for a dynamic name (channel, client id, tag key), escaped.
  void key_escaped(std::string_view name) {
    comma();
    append_escaped(out_, name);
    out_ += ':';
    first_ = true;
  }
  // Writes `"name":` for a constant name that needs no escaping, and leaves the writer
  // ready for the value.
  void key(std::string_view name) {
    comma();
    out_ += '"';
    out_.append(name);
    out_ += "\":";
    first_ = true;
  }
  void string(std::string_view s) {
    comma();
    append_escaped(out_, s);
    first_ = false;
  }
  void uint(uint64_t v) {
    comma();
    append_number(v);
    first_ = false;
  }
  void int64(int64_t v) {
    comma();
    append_number(v);
    first_ = false;
  }
  void boolean(bool v) {
    comma();
    out_ += v ? "true" : "false";
    first_ = false;
  }
  // Embeds a raw JSON value verbatim, removing newline bytes: the newline byte delimits
  // messages, and for valid JSON it can only be insignificant whitespace
  // (client-protocol.md §2.2, centrifuge protocol/raw.go).
  void raw(std::string_view json) {
    comma();
    append_raw(out_, json);
    first_ = false;
  }

  // Convenience: key + value.
  void field(std::string_view k, std::string_view v) { key(k), string(v); }
  void field_uint(std::string_view k, uint64_t v) { key(k), uint(v); }
  void field_int(std::string_view k, int64_t v) { key(k), int64(v); }
  void field_bool(std::string_view k, bool v) { key(k), boolean(v); }
  void field_raw(std::string_view k, std::string_view v) { key(k), raw(v); }

  static void append_escaped(std::string& out, std::string_view s);
  static void append_raw(std::string& out, std::string_view json);

 private:
  void comma() {
    if (!first_) {
      out_ += ',';
    }
  }
  template <typename T>
  void append_number(T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, r.ptr);
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace gyre::protocol
