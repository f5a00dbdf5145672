#include "config/value.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>
#include <toml++/toml.h>

#include "config/loader.h"

namespace gyre::config {

Value::Value() = default;

Value Value::make_bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Value::make_int(int64_t i) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}

Value Value::make_double(double d) {
  Value v;
  v.kind = Kind::kDouble;
  v.number = d;
  return v;
}

Value Value::make_string(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.string = std::move(s);
  return v;
}

Value Value::make_array() {
  Value v;
  v.kind = Kind::kArray;
  return v;
}

Value Value::make_object() {
  Value v;
  v.kind = Kind::kObject;
  return v;
}

std::string_view kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "boolean";
    case Value::Kind::kInt:
      return "integer";
    case Value::Kind::kDouble:
      return "number";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kArray:
      return "array";
    case Value::Kind::kObject:
      return "object";
  }
  return "value";
}

namespace {

[[noreturn]] void throw_parse_error(std::string_view origin, std::string_view format,
                                    size_t line, size_t column, std::string_view what) {
  throw ConfigError(fmt::format("config: {}: invalid {} at line {}, column {}: {}", origin,
                                format, line, column, what));
}

// --- JSON

// simdjson's DOM parser reports what went wrong but not where. This small scanner finds
// the offset of the first syntax error so the user gets a line/column hint; it runs only
// after simdjson has already rejected the document. Single-use, not thread-safe.
class JsonErrorLocator {
 public:
  explicit JsonErrorLocator(std::string_view text) : text_(text) {}

  // Offset of the first syntax error (text.size() when the scanner finds none, e.g. for
  // encoding errors it does not check).
  size_t locate() {
    skip_ws();
    if (!value(0)) {
      return pos_;
    }
    skip_ws();
    return pos_;  // trailing garbage, or end of input
  }

 private:
  static constexpr int kMaxDepth = 1024;

  bool value(int depth) {
    if (depth > kMaxDepth || pos_ >= text_.size()) {
      return false;
    }
    char c = text_[pos_];
    if (c == '{') {
      return object(depth);
    }
    if (c == '[') {
      return array(depth);
    }
    if (c == '"') {
      return string();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return number();
    }
    return literal("true") || literal("false") || literal("null");
  }

  bool object(int depth) {
    ++pos_;
    skip_ws();
    if (peek('}')) {
      ++pos_;
      return true;
    }
    while (true) {
      skip_ws();
      if (!peek('"') || !string()) {
        return false;
      }
      skip_ws();
      if (!peek(':')) {
        return false;
      }
      ++pos_;
      skip_ws();
      if (!value(depth + 1)) {
        return false;
      }
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek('}')) {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  bool array(int depth) {
    ++pos_;
    skip_ws();
    if (peek(']')) {
      ++pos_;
      return true;
    }
    while (true) {
      skip_ws();
      if (!value(depth + 1)) {
        return false;
      }
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek(']')) {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  bool string() {
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return false;
      }
      pos_ += (c == '\\') ? 2 : 1;
    }
    return false;
  }

  bool number() {
    size_t start = pos_;
    if (peek('-')) {
      ++pos_;
    }
    size_t digits = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (pos_ == digits) {
      return false;
    }
    if (peek('.')) {
      ++pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) {
        ++pos_;
      }
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
    }
    return pos_ > start;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  void skip_ws() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

Value from_json(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      Value v = Value::make_object();
      for (auto field : simdjson::dom::object(e)) {
        v.fields.emplace_back(std::string(field.key), from_json(field.value));
      }
      return v;
    }
    case simdjson::dom::element_type::ARRAY: {
      Value v = Value::make_array();
      for (auto item : simdjson::dom::array(e)) {
        v.items.push_back(from_json(item));
      }
      return v;
    }
    case simdjson::dom::element_type::STRING:
      return Value::make_string(std::string(std::string_view(e)));
    case simdjson::dom::element_type::INT64:
      return Value::make_int(int64_t(e));
    case simdjson::dom::element_type::UINT64:
      // Beyond int64: no config key can hold it, keep it as a number so the type check
      // reports it.
      return Value::make_double(static_cast<double>(uint64_t(e)));
    case simdjson::dom::element_type::DOUBLE:
      return Value::make_double(double(e));
    case simdjson::dom::element_type::BOOL:
      return Value::make_bool(bool(e));
    case simdjson::dom::element_type::NULL_VALUE:
      return Value{};
  }
  return Value{};
}

// --- YAML

bool is_yaml_null(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Resolves a plain (unquoted) YAML scalar with the YAML 1.2 core schema, which is what the
// Go YAML library behind Centrifugo's config reader does for untyped values: `yes`/`on` stay
// strings, `8000` is an integer, `300s` is a string.
Value resolve_yaml_scalar(const std::string& s) {
  if (is_yaml_null(s)) {
    return Value{};
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return Value::make_bool(true);
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return Value::make_bool(false);
  }
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.starts_with("0x")) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.starts_with("0o")) {
    base = 8;
    digits.remove_prefix(2);
  }
  if (!digits.empty()) {
    int64_t magnitude = 0;
    auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    if (ec == std::errc{} && end == digits.data() + digits.size()) {
      return Value::make_int(negative ? -magnitude : magnitude);
    }
  }
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "+.Inf") {
    return Value::make_double(std::numeric_limits<double>::infinity());
  }
  if (s == "-.inf" || s == "-.Inf") {
    return Value::make_double(-std::numeric_limits<double>::infinity());
  }
  if (s == ".nan" || s == ".NaN") {
    return Value::make_double(std::numeric_limits<double>::quiet_NaN());
  }
  bool numeric_chars = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                       s.find_first_of("0123456789") != std::string::npos;
  if (numeric_chars) {
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc{} && end == s.data() + s.size()) {
      return Value::make_double(d);
    }
  }
  return Value::make_string(s);
}

// yaml-cpp resolves aliases into shared nodes: a self-referencing alias (`a: &x [*x]`) is an
// infinite tree and nested aliases expand exponentially ("billion laughs"). Both are bounded.
constexpr int kMaxYamlDepth = 256;
constexpr size_t kMaxYamlNodes = 1 << 18;  // a large real config has ~10^4 nodes

struct YamlBudget {
  size_t nodes = 0;
};

[[noreturn]] void yaml_too_large() {
  throw YAML::Exception(YAML::Mark::null_mark(),
                        "nesting too deep or too many aliases (at most " +
                            std::to_string(kMaxYamlDepth) + " levels and " +
                            std::to_string(kMaxYamlNodes) + " nodes)");
}

Value from_yaml(const YAML::Node& node, int depth, YamlBudget& budget) {
  if (depth > kMaxYamlDepth || ++budget.nodes > kMaxYamlNodes) {
    yaml_too_large();
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Value v = Value::make_object();
      for (const auto& kv : node) {
        v.fields.emplace_back(kv.first.Scalar(), from_yaml(kv.second, depth + 1, budget));
      }
      return v;
    }
    case YAML::NodeType::Sequence: {
      Value v = Value::make_array();
      for (const auto& item : node) {
        v.items.push_back(from_yaml(item, depth + 1, budget));
      }
      return v;
    }
    case YAML::NodeType::Scalar: {
      // "!" marks a quoted scalar, which is always a string.
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") {
        return Value::make_string(node.Scalar());
      }
      return resolve_yaml_scalar(node.Scalar());
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Value{};
  }
  return Value{};
}

// --- TOML

Value from_toml(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    Value v = Value::make_object();
    for (const auto& [key, child] : *table) {
      v.fields.emplace_back(std::string(key.str()), from_toml(child));
    }
    return v;
  }
  if (const auto* array = node.as_array()) {
    Value v = Value::make_array();
    for (const auto& child : *array) {
      v.items.push_back(from_toml(child));
    }
    return v;
  }
  if (const auto* s = node.as_string()) {
    return Value::make_string(s->get());
  }
  if (const auto* i = node.as_integer()) {
    return Value::make_int(i->get());
  }
  if (const auto* d = node.as_floating_point()) {
    return Value::make_double(d->get());
  }
  if (const auto* b = node.as_boolean()) {
    return Value::make_bool(b->get());
  }
  // Dates and times: no config key takes them; keep their text so errors can show it.
  std::ostringstream out;
  node.visit([&out](const auto& n) { out << n; });
  return Value::make_string(out.str());
}

}  // namespace

Value parse_json(std::string_view text, std::string_view origin) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto error = parser.parse(padded).get(root);
  if (error) {
    size_t offset = JsonErrorLocator(text).locate();
    auto [line, column] = line_column(text, offset);
    throw_parse_error(origin, "JSON", line, column, simdjson::error_message(error));
  }
  return from_json(root);
}

Value parse_yaml(const std::string& text, std::string_view origin) {
  try {
    YamlBudget budget;
    return from_yaml(YAML::Load(text), 0, budget);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      throw ConfigError(fmt::format("config: {}: invalid YAML: {}", origin, e.msg));
    }
    // yaml-cpp marks are 0-based.
    throw_parse_error(origin, "YAML", static_cast<size_t>(e.mark.line) + 1,
                      static_cast<size_t>(e.mark.column) + 1, e.msg);
  }
}

Value parse_toml(std::string_view text, std::string_view origin) {
  try {
    toml::table table = toml::parse(text);
    return from_toml(table);
  } catch (const toml::parse_error& e) {
    throw_parse_error(origin, "TOML", e.source().begin.line, e.source().begin.column,
                      e.description());
  }
}

}  // namespace gyre::config
