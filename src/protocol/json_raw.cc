#include "protocol/json_raw.h"

#include "protocol/codec.h"

namespace gyre::protocol {

namespace od = simdjson::ondemand;

namespace {

thread_local simdjson::dom::parser tl_dom;
thread_local od::parser tl_walker;

// simdjson's default max depth, which the DOM pass applies: it counts the document itself,
// so at most 1023 nested arrays/objects.
constexpr int kMaxDepth = 1024;
constexpr int kMaxContainerDepth = kMaxDepth - 1;
// The walker's own depth bound is above kMaxDepth, so walk() refuses a document before the
// On-Demand iterator reaches its limit (which it asserts on in builds with development checks
// rather than reporting an error).
constexpr size_t kWalkerMaxDepth = kMaxDepth + 16;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  if (i < n && t[i] == '-') {
    ++i;
  }
  if (i >= n) {
    return false;
  }
  if (t[i] == '0') {
    ++i;
  } else if (is_digit(t[i])) {
    while (i < n && is_digit(t[i])) {
      ++i;
    }
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (i >= n || !is_digit(t[i])) {
      return false;
    }
    while (i < n && is_digit(t[i])) {
      ++i;
    }
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) {
      ++i;
    }
    if (i >= n || !is_digit(t[i])) {
      return false;
    }
    while (i < n && is_digit(t[i])) {
      ++i;
    }
  }
  return i == n;
}

// Visits every value so On-Demand validates all of it (it skips what it is not asked for).
// `depth` is the nesting of `v`: 1 for the root.
bool walk(od::value v, int depth) {
  od::json_type t;
  if (v.type().get(t)) {
    return false;
  }
  if ((t == od::json_type::object || t == od::json_type::array) && depth > kMaxContainerDepth) {
    return false;  // as the DOM's DEPTH_ERROR
  }
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (v.get_object().get(o)) {
        return false;
      }
      for (auto field : o) {
        std::string_view key;
        od::value fv;
        if (field.unescaped_key().get(key) || field.value().get(fv) || !walk(fv, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::array: {
      od::array a;
      if (v.get_array().get(a)) {
        return false;
      }
      for (auto e : a) {
        od::value ev;
        if (e.get(ev) || !walk(ev, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view str;
      return !v.get_string().get(str);
    }
    case od::json_type::number:
      return json_number(trim_json_whitespace(v.raw_json_token()));
    case od::json_type::boolean: {
      std::string_view tok = trim_json_whitespace(v.raw_json_token());
      return tok == "true" || tok == "false";
    }
    case od::json_type::null:
      return trim_json_whitespace(v.raw_json_token()) == "null";
  }
  return false;
}

}  // namespace

bool valid_json(std::string_view data) {
  if (data.empty()) {
    return false;
  }
  auto err = tl_dom.parse(data.data(), data.size(), true).error();
  if (err != simdjson::NUMBER_ERROR) {
    return !err;
  }
  // A number simdjson cannot represent (or a malformed one): decide by the grammar alone.
  simdjson::padded_string padded(data);
  if (tl_walker.max_depth() < kWalkerMaxDepth &&
      tl_walker.allocate(data.size(), kWalkerMaxDepth) != simdjson::SUCCESS) {
    return false;
  }
  od::document doc;
  if (tl_walker.iterate(padded).get(doc)) {
    return false;
  }
  od::json_type t;
  if (doc.type().get(t)) {
    return false;
  }
  if (t != od::json_type::object && t != od::json_type::array) {
    // A scalar document the DOM refused for its number: valid only as one number.
    return json_number(trim_json_whitespace(data));
  }
  od::value root;
  if (doc.get_value().get(root) || !walk(root, 1)) {
    return false;
  }
  // Nothing may follow the root value.
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

std::string_view trim_json_whitespace(std::string_view s) {
  constexpr auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_ws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool raw_json_bytes(od::value& v, std::string_view& raw) {
  od::json_type t;
  if (v.type().get(t)) {
    return false;
  }
  if (t == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) || o.raw_json().get(raw)) {
      return false;
    }
  } else if (t == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) || a.raw_json().get(raw)) {
      return false;
    }
  } else {
    raw = v.raw_json_token();
  }
  raw = trim_json_whitespace(raw);
  return true;
}

}  // namespace gyre::protocol
