#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/jwt.h"

// JWT claim and JOSE header decoding for auth::Verifier (jwt.cc), apart from verification.
// Decoding follows Go's encoding/json as Centrifugo uses it (server-api.md §0.1, §3.2): the
// whole document must be valid JSON, keys match case-insensitively, duplicate keys are applied
// in order (last wins), and `null` does what Go does for the target type: it leaves a string
// unchanged, clears a pointer, slice or map, is kept as the bytes `null` by a json.RawMessage,
// and is rejected by jwt.Audience. Internal to the auth module. Stateless functions (parsers
// are per-thread scratch): thread-safe.
namespace gyre::auth::claims {

enum class TokenKind { kConnect, kSubscribe };

// The undecoded SubscribeOptions of a `subs` entry or of a subscription token.
struct DecodedOptions {
  std::optional<std::string> info;
  std::string b64info;
  std::optional<std::string> data;
  std::string b64data;
  SubscribeOptionOverride override;
};

struct DecodedClaims {
  std::string sub;
  std::string iss;
  std::vector<std::string> aud;
  std::optional<double> exp;
  std::optional<double> nbf;
  std::optional<int64_t> expire_at;
  std::string channel;
  std::optional<std::string> info;
  std::string b64info;
  // Connection token only.
  std::vector<std::string> channels;
  std::vector<std::pair<std::string, DecodedOptions>> subs;  // token order
  std::unordered_map<std::string, size_t> subs_index;        // channel -> position in subs
  std::optional<std::string> meta;
  // Subscription token only (info/b64info above are shared).
  DecodedOptions options;
  std::string client;
};

// *SubscribeOptionOverride (Go encoding/json): null clears it; an object updates the listed
// options ({"value": bool} each). Also used by the proxy's answer decoder.
bool decode_override(simdjson::ondemand::value& v, SubscribeOptionOverride& field);

// The JOSE header (cristalhq/jwt Header): alg, typ, cty, kid, all strings. typ is not checked.
struct Header {
  std::string alg;
  std::string kid;
};

// Whether `json` is one valid JSON document (simdjson DOM, Go's json.Valid).
bool valid_json(const simdjson::padded_string& json);
// The claims of a token payload of `kind`; nullopt when it does not decode as Go would.
std::optional<DecodedClaims> decode_claims(const simdjson::padded_string& json, TokenKind kind);
// The JOSE header; nullopt when it is not a JSON object with string alg/kid/typ/cty.
std::optional<Header> decode_header(const std::string& header);
// gjson's Result.String() for the first top-level member named `claim` (Centrifugo reads
// token_user_id_claim with gjson.GetBytes): a string unescaped, an integer literal as written,
// other numbers re-formatted, true/false as words, null or absent as "", and an object or
// array as its raw JSON. gjson takes the first of duplicate keys and matches case-sensitively.
std::string user_id_from_claim(const simdjson::padded_string& json, std::string_view claim);

}  // namespace gyre::auth::claims
