#pragma once

#include <string>
#include <string_view>

namespace gyre {

// Appends `s` to `out` as a quoted JSON string: '"' and '\\' escaped, \n \r \t by name, other
// control bytes as \u00XX, every other byte (UTF-8 included) as is — what Go's encoding/json
// writes with HTML escaping off. Pure; used by protocol::JsonWriter and the JSON log lines.
void append_json_string(std::string& out, std::string_view s);

}  // namespace gyre
