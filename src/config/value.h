#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The common in-memory tree every config file format (JSON, YAML, TOML) is converted into,
// so that one schema walk (schema.h) applies values, whatever the source format. Immutable
// once built; plain value type.
namespace gyre::config {

struct Value {
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  // Defined out of line: clang (16) otherwise instantiates pair<string, Value> while checking
  // Value's implicit default constructor and rejects the still-incomplete pair.
  Value();

  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::vector<Value> items;                            // kArray
  std::vector<std::pair<std::string, Value>> fields;   // kObject, in file order

  static Value make_bool(bool b);
  static Value make_int(int64_t i);
  static Value make_double(double d);
  static Value make_string(std::string s);
  static Value make_array();
  static Value make_object();
};

// "boolean", "integer", "string", ... for error messages.
std::string_view kind_name(Value::Kind kind);

// Parsers for the supported file formats. `origin` says what the text is, for error
// messages: `file "config.json"`, or `key "namespaces"` for JSON in an environment variable.
// Throw ConfigError with a position hint ("line L, column C") on malformed input.
Value parse_json(std::string_view text, std::string_view origin);
Value parse_yaml(const std::string& text, std::string_view origin);
Value parse_toml(std::string_view text, std::string_view origin);

}  // namespace gyre::config
