#include "protocol/json_writer.h"

#include <cstring>

#include "core/json_escape.h"

namespace gyre::protocol {

void JsonWriter::append_escaped(std::string& out, std::string_view s) {
  append_json_string(out, s);
}

void JsonWriter::append_raw(std::string& out, std::string_view json) {
  if (std::memchr(json.data(), '\n', json.size()) == nullptr) {
    out.append(json);
    return;
  }
  for (char c : json) {
    if (c != '\n') {
      out += c;
    }
  }
}

}  // namespace gyre::protocol
