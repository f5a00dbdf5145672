#pragma once

#include <simdjson.h>

#include <string_view>

// Raw JSON values: the exact bytes of a JSON value as received, for the fields Centrifugo
// treats as raw JSON (`data`, `info`, `meta`, ...; client-protocol.md §2.2, server-api.md §0.2).
// Shared by the client-protocol codec, the server API decoders and the JWT claim decoder.
namespace gyre::protocol {

// Sets `raw` to the bytes of `v`, of any JSON type, without the whitespace simdjson includes
// after a value (Go's json.RawMessage has none). The view points into the parsed input.
// Returns false on a parse error.
bool raw_json_bytes(simdjson::ondemand::value& v, std::string_view& raw);

}  // namespace gyre::protocol
