#pragma once

#include <simdjson.h>

#include <string_view>

#include "core/ascii.h"

// Raw JSON values: the exact bytes of a JSON value as received, for the fields Centrifugo
// treats as raw JSON (`data`, `info`, `meta`, ...; client-protocol.md §2.2, server-api.md §0.2).
// Shared by the client-protocol codec, the server API decoders and the JWT claim decoder.
namespace gyre::protocol {

// Sets `raw` to the bytes of `v`, of any JSON type, without the whitespace simdjson includes
// after a value (Go's json.RawMessage has none). The view points into the parsed input.
// Returns false on a parse error.
bool raw_json_bytes(simdjson::ondemand::value& v, std::string_view& raw);

// `s` without JSON whitespace (space, tab, CR, LF) at either end. simdjson's token views
// (raw_json_token) run up to the next token and so may end in whitespace.
std::string_view trim_json_whitespace(std::string_view s);

// Whether JSON object key `key` names the field `name` (lower case), as Go's encoding/json
// matches keys to struct fields: case-insensitively. Used by the decoders of the server API,
// JWT claims and JWK Sets, which Centrifugo decodes with encoding/json.
constexpr bool key_is(std::string_view key, std::string_view name) {
  return ascii_iequals(key, name);
}

}  // namespace gyre::protocol
