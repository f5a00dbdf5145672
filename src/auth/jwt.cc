#include "auth/jwt.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <re2/re2.h>
#include <simdjson.h>

#include "auth/jwks.h"
#include "auth/jws.h"
#include "core/base64.h"
#include "protocol/json_raw.h"

// Decoding follows Go's encoding/json as Centrifugo uses it (server-api.md §0.1, §3.2): the
// whole document must be valid JSON, keys match case-insensitively, duplicate keys are applied
// in order (last wins), and `null` does what Go does for the target type: it leaves a string
// unchanged, clears a pointer, slice or map, is kept as the bytes `null` by a json.RawMessage,
// and is rejected by jwt.Audience.
namespace gyre::auth {
namespace {

namespace od = simdjson::ondemand;
using JsonType = od::json_type;

// Parsers are reused per thread. Above this size a throwaway parser is used so that one huge
// hostile token does not pin its buffers to a shard thread for good.
constexpr size_t kParserReuseLimit = 64 * 1024;

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

enum class TokenKind { kConnect, kSubscribe };

// --- JSON helpers -----------------------------------------------------------------------

// Full validation (syntax, UTF-8, nesting depth). On-Demand only checks what it visits, and
// Go rejects a token whose JSON is malformed anywhere, including in ignored claims.
bool valid_json(const simdjson::padded_string& json) {
  thread_local simdjson::dom::parser shared;
  simdjson::dom::parser local;
  simdjson::dom::parser& parser = json.size() <= kParserReuseLimit ? shared : local;
  simdjson::dom::element root;
  return parser.parse(json).get(root) == simdjson::SUCCESS;
}

// Runs `fn` on an On-Demand document over `json`; false when the document cannot be opened
// or `fn` fails.
template <class Fn>
bool with_document(const simdjson::padded_string& json, Fn&& fn) {
  thread_local od::parser shared;
  od::parser local;
  od::parser& parser = json.size() <= kParserReuseLimit ? shared : local;
  od::document doc;
  if (parser.iterate(json).get(doc) != simdjson::SUCCESS) {
    return false;
  }
  return fn(doc);
}

// Calls `fn(key, value)` for each member of `object`, in document order.
template <class Fn>
bool for_each_member(od::object& object, Fn&& fn) {
  for (auto member : object) {
    od::field field;
    if (std::move(member).get(field) != simdjson::SUCCESS) {
      return false;
    }
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return false;
    }
    od::value value = field.value();
    if (!fn(key, value)) {
      return false;
    }
  }
  return true;
}

using protocol::key_is;


bool type_of(od::value& v, JsonType& type) {
  return v.type().get(type) == simdjson::SUCCESS;
}


// RFC 8259 number grammar (Go's isValidNumber), for numbers given as JSON strings.
bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
    return i > start;
  };
  if (i < s.size() && s[i] == '-') {
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == s.size();
}

// --- field decoders ---------------------------------------------------------------------
// Each writes into an existing field because Go's decoder does: a repeated key is applied on
// top of what the earlier one left.

// string: null leaves the field unchanged.
bool decode_string(od::value& v, std::string& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    return true;
  }
  std::string_view s;
  if (type != JsonType::string || v.get_string().get(s) != simdjson::SUCCESS) {
    return false;
  }
  field.assign(s);
  return true;
}

// json.RawMessage: the exact bytes of any value, `null` included (server-api.md §0.2).
bool decode_raw(od::value& v, std::optional<std::string>& field) {
  std::string_view raw;
  if (!protocol::raw_json_bytes(v, raw)) {
    return false;
  }
  field.emplace(raw);
  return true;
}

// *jwt.NumericDate: Go decodes it through json.Number, which takes a JSON number or a string
// holding one; the value may be fractional. null clears it.
bool decode_numeric_date(od::value& v, std::optional<double>& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  std::string_view text;
  if (type == JsonType::null) {
    field.reset();
    return true;
  }
  if (type == JsonType::number) {
    text = protocol::trim_json_whitespace(v.raw_json_token());
  } else if (type == JsonType::string) {
    if (v.get_string().get(text) != simdjson::SUCCESS || !is_json_number(text)) {
      return false;
    }
  } else {
    return false;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return false;
  }
  field = value;
  return true;
}

// *int64: a JSON integer that fits (no fraction, no exponent, no quotes). null clears it.
bool decode_int64(od::value& v, std::optional<int64_t>& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    field.reset();
    return true;
  }
  int64_t value = 0;
  if (type != JsonType::number || v.get_int64().get(value) != simdjson::SUCCESS) {
    return false;
  }
  field = value;
  return true;
}

// jwt.Audience: a string or an array of strings. Its UnmarshalJSON also runs for `null` and
// rejects it, so a null `aud` makes the token invalid (unlike other claims).
bool decode_audience(od::value& v, std::vector<std::string>& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  std::string_view s;
  if (type == JsonType::string) {
    if (v.get_string().get(s) != simdjson::SUCCESS) {
      return false;
    }
    field.assign(1, std::string(s));
    return true;
  }
  od::array array;
  if (type != JsonType::array || v.get_array().get(array) != simdjson::SUCCESS) {
    return false;
  }
  std::vector<std::string> values;
  for (auto item : array) {
    od::value element;
    JsonType element_type;
    if (std::move(item).get(element) != simdjson::SUCCESS || !type_of(element, element_type) ||
        element_type != JsonType::string || element.get_string().get(s) != simdjson::SUCCESS) {
      return false;
    }
    values.emplace_back(s);
  }
  field = std::move(values);
  return true;
}

// []string: null clears it; a null element is the zero value "".
bool decode_string_array(od::value& v, std::vector<std::string>& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    field.clear();
    return true;
  }
  od::array array;
  if (type != JsonType::array || v.get_array().get(array) != simdjson::SUCCESS) {
    return false;
  }
  std::vector<std::string> values;
  for (auto item : array) {
    od::value element;
    if (std::move(item).get(element) != simdjson::SUCCESS) {
      return false;
    }
    std::string s;
    if (!decode_string(element, s)) {
      return false;
    }
    values.push_back(std::move(s));
  }
  field = std::move(values);
  return true;
}

// *BoolValue ({"value": bool}): null clears the override; an object sets it (false unless
// `value` says otherwise).
bool decode_bool_value(od::value& v, std::optional<bool>& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    field.reset();
    return true;
  }
  od::object object;
  if (type != JsonType::object || v.get_object().get(object) != simdjson::SUCCESS) {
    return false;
  }
  if (!field) {
    field = false;
  }
  return for_each_member(object, [&](std::string_view key, od::value& member) {
    if (!key_is(key, "value")) {
      return true;
    }
    JsonType member_type;
    if (!type_of(member, member_type)) {
      return false;
    }
    if (member_type == JsonType::null) {
      return true;
    }
    bool b = false;
    if (member_type != JsonType::boolean || member.get_bool().get(b) != simdjson::SUCCESS) {
      return false;
    }
    field = b;
    return true;
  });
}

// *SubscribeOptionOverride: null clears it; an object updates the listed options.
bool decode_override(od::value& v, SubscribeOptionOverride& field) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    field = {};
    return true;
  }
  od::object object;
  if (type != JsonType::object || v.get_object().get(object) != simdjson::SUCCESS) {
    return false;
  }
  return for_each_member(object, [&](std::string_view key, od::value& member) {
    if (key_is(key, "presence")) {
      return decode_bool_value(member, field.presence);
    }
    if (key_is(key, "join_leave")) {
      return decode_bool_value(member, field.join_leave);
    }
    if (key_is(key, "force_push_join_leave")) {
      return decode_bool_value(member, field.force_push_join_leave);
    }
    if (key_is(key, "force_recovery")) {
      return decode_bool_value(member, field.force_recovery);
    }
    if (key_is(key, "force_positioning")) {
      return decode_bool_value(member, field.force_positioning);
    }
    return true;
  });
}

// The undecoded SubscribeOptions of a `subs` entry or of a subscription token.
struct DecodedOptions {
  std::optional<std::string> info;
  std::string b64info;
  std::optional<std::string> data;
  std::string b64data;
  SubscribeOptionOverride override;
};

// Keys of SubscribeOptions; false when `key` is not one of them.
bool is_options_key(std::string_view key) {
  return key_is(key, "info") || key_is(key, "b64info") || key_is(key, "data") ||
         key_is(key, "b64data") || key_is(key, "override");
}

bool decode_options_member(std::string_view key, od::value& v, DecodedOptions& options) {
  if (key_is(key, "info")) {
    return decode_raw(v, options.info);
  }
  if (key_is(key, "b64info")) {
    return decode_string(v, options.b64info);
  }
  if (key_is(key, "data")) {
    return decode_raw(v, options.data);
  }
  if (key_is(key, "b64data")) {
    return decode_string(v, options.b64data);
  }
  if (key_is(key, "override")) {
    return decode_override(v, options.override);
  }
  return true;
}

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

// map[string]SubscribeOptions: null clears the map and a second `subs` key adds to it. A
// repeated channel keeps its first position but takes the later value, decoded afresh (Go
// zeroes the map element before decoding into it).
bool decode_subs(od::value& v, DecodedClaims& claims) {
  JsonType type;
  if (!type_of(v, type)) {
    return false;
  }
  if (type == JsonType::null) {
    claims.subs.clear();
    claims.subs_index.clear();
    return true;
  }
  od::object object;
  if (type != JsonType::object || v.get_object().get(object) != simdjson::SUCCESS) {
    return false;
  }
  return for_each_member(object, [&](std::string_view channel, od::value& entry) {
    DecodedOptions options;
    JsonType entry_type;
    if (!type_of(entry, entry_type)) {
      return false;
    }
    if (entry_type != JsonType::null) {
      od::object entry_object;
      if (entry_type != JsonType::object ||
          entry.get_object().get(entry_object) != simdjson::SUCCESS) {
        return false;
      }
      bool ok = for_each_member(entry_object, [&](std::string_view key, od::value& member) {
        return decode_options_member(key, member, options);
      });
      if (!ok) {
        return false;
      }
    }
    auto [it, inserted] = claims.subs_index.try_emplace(std::string(channel), claims.subs.size());
    if (inserted) {
      claims.subs.emplace_back(channel, std::move(options));
    } else {
      claims.subs[it->second].second = std::move(options);
    }
    return true;
  });
}

// One top-level claim. Claims the token kind does not define are ignored, whatever their type,
// as Go ignores keys without a struct field.
bool decode_claim(std::string_view key, od::value& v, TokenKind kind, DecodedClaims& claims) {
  if (key_is(key, "sub")) {
    return decode_string(v, claims.sub);
  }
  if (key_is(key, "iss")) {
    return decode_string(v, claims.iss);
  }
  if (key_is(key, "jti")) {
    std::string unused;  // PRO revocation only; still type-checked
    return decode_string(v, unused);
  }
  if (key_is(key, "aud")) {
    return decode_audience(v, claims.aud);
  }
  if (key_is(key, "exp")) {
    return decode_numeric_date(v, claims.exp);
  }
  if (key_is(key, "nbf")) {
    return decode_numeric_date(v, claims.nbf);
  }
  if (key_is(key, "iat")) {
    std::optional<double> unused;  // not checked in OSS, but still type-checked
    return decode_numeric_date(v, unused);
  }
  if (key_is(key, "expire_at")) {
    return decode_int64(v, claims.expire_at);
  }
  if (key_is(key, "channel")) {
    return decode_string(v, claims.channel);
  }
  if (kind == TokenKind::kConnect) {
    if (key_is(key, "info")) {
      return decode_raw(v, claims.info);
    }
    if (key_is(key, "b64info")) {
      return decode_string(v, claims.b64info);
    }
    if (key_is(key, "channels")) {
      return decode_string_array(v, claims.channels);
    }
    if (key_is(key, "subs")) {
      return decode_subs(v, claims);
    }
    if (key_is(key, "meta")) {
      return decode_raw(v, claims.meta);
    }
    return true;
  }
  if (key_is(key, "client")) {
    return decode_string(v, claims.client);
  }
  if (is_options_key(key)) {
    return decode_options_member(key, v, claims.options);
  }
  return true;
}

std::optional<DecodedClaims> decode_claims(const simdjson::padded_string& json, TokenKind kind) {
  DecodedClaims claims;
  bool ok = with_document(json, [&](od::document& doc) {
    JsonType type;
    if (doc.type().get(type) != simdjson::SUCCESS) {
      return false;
    }
    // json.Unmarshal of `null` into a struct is a no-op: a payload `null` has no claims.
    if (type == JsonType::null) {
      return true;
    }
    od::object object;
    if (type != JsonType::object || doc.get_object().get(object) != simdjson::SUCCESS) {
      return false;
    }
    return for_each_member(object, [&](std::string_view key, od::value& v) {
      return decode_claim(key, v, kind, claims);
    });
  });
  if (!ok) {
    return std::nullopt;
  }
  return claims;
}

// The JOSE header (cristalhq/jwt Header): alg, typ, cty, kid, all strings. typ is not checked.
struct Header {
  std::string alg;
  std::string kid;
};

std::optional<Header> decode_header(const std::string& header) {
  simdjson::padded_string json(header);
  if (!valid_json(json)) {
    return std::nullopt;
  }
  Header out;
  bool ok = with_document(json, [&](od::document& doc) {
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
      return false;
    }
    return for_each_member(object, [&](std::string_view key, od::value& v) {
      if (key_is(key, "alg")) {
        return decode_string(v, out.alg);
      }
      if (key_is(key, "kid")) {
        return decode_string(v, out.kid);
      }
      if (key_is(key, "typ") || key_is(key, "cty")) {
        std::string unused;
        return decode_string(v, unused);
      }
      return true;
    });
  });
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

// Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent.
std::string format_float(double value) {
  char buf[512];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  if (ec != std::errc()) {
    return {};
  }
  return std::string(buf, end);
}

// gjson's Result.String() for the first top-level member named `claim` (Centrifugo reads
// token_user_id_claim with gjson.GetBytes): a string unescaped, an integer literal as written,
// other numbers re-formatted, true/false as words, null or absent as "", and an object or
// array as its raw JSON. gjson takes the first of duplicate keys and matches case-sensitively.
std::string user_id_from_claim(const simdjson::padded_string& json, std::string_view claim) {
  std::string user;
  with_document(json, [&](od::document& doc) {
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
      return false;
    }
    for (auto member : object) {
      od::field field;
      std::string_view key;
      if (std::move(member).get(field) != simdjson::SUCCESS ||
          field.unescaped_key().get(key) != simdjson::SUCCESS) {
        return false;
      }
      if (key != claim) {
        continue;
      }
      od::value v = field.value();
      JsonType type;
      if (!type_of(v, type)) {
        return false;
      }
      std::string_view text;
      if (type == JsonType::string) {
        if (v.get_string().get(text) == simdjson::SUCCESS) {
          user.assign(text);
        }
      } else if (type == JsonType::number) {
        text = protocol::trim_json_whitespace(v.raw_json_token());
        std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
        bool integer_literal = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                              [](char c) {
                                                                return c >= '0' && c <= '9';
                                                              });
        if (integer_literal) {
          user.assign(text);
        } else {
          double value = 0;
          std::from_chars(text.data(), text.data() + text.size(), value);
          user = format_float(value);
        }
      } else if (type == JsonType::boolean) {
        bool b = false;
        if (v.get_bool().get(b) == simdjson::SUCCESS) {
          user = b ? "true" : "false";
        }
      } else if (type == JsonType::object || type == JsonType::array) {
        if (protocol::raw_json_bytes(v, text)) {
          user.assign(text);
        }
      }
      return true;
    }
    return true;
  });
  return user;
}

// --- token-level helpers ----------------------------------------------------------------

struct ParsedToken {
  std::string alg;
  std::string kid;
  std::string_view signing_input;  // "header.payload" exactly as received
  simdjson::padded_string payload;
  std::string signature;
};

// cristalhq/jwt parsing (server-api.md §3.2 step 1).
std::optional<ParsedToken> parse_token(std::string_view token) {
  // "eyJ" is base64url of `{"`, the start of every JOSE header.
  if (!token.starts_with("eyJ")) {
    return std::nullopt;
  }
  size_t dot1 = token.find('.');
  size_t dot2 = token.rfind('.');
  if (dot1 == std::string_view::npos || dot2 == dot1) {
    return std::nullopt;
  }
  auto header = base64::decode_url(token.substr(0, dot1));
  if (!header) {
    return std::nullopt;
  }
  auto head = decode_header(*header);
  if (!head) {
    return std::nullopt;
  }
  auto payload = base64::decode_url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) {
    return std::nullopt;
  }
  auto signature = base64::decode_url(token.substr(dot2 + 1));
  if (!signature) {
    return std::nullopt;
  }
  return ParsedToken{std::move(head->alg), std::move(head->kid), token.substr(0, dot2),
                     simdjson::padded_string(*payload), std::move(*signature)};
}

// b64* wins over the raw JSON field when non-empty; false on bad standard base64.
bool resolve_binary(const std::string& b64, const std::optional<std::string>& raw,
                    std::string& out) {
  if (!b64.empty()) {
    auto decoded = base64::decode_std(b64);
    if (!decoded) {
      return false;
    }
    out = std::move(*decoded);
    return true;
  }
  out = raw.value_or("");
  return true;
}

// NumericDate -> Unix seconds as Go's time.Unix(...).Unix() gives them (floor), saturated.
std::optional<int64_t> to_unix_seconds(std::optional<double> date) {
  if (!date) {
    return std::nullopt;
  }
  double seconds = std::floor(*date);
  if (seconds >= 9223372036854775807.0) {
    return std::numeric_limits<int64_t>::max();
  }
  if (seconds <= -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(seconds);
}

std::unique_ptr<re2::RE2> compile_regex(const std::string& pattern, const std::string& option) {
  if (pattern.empty()) {
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, options);
  if (!re->ok()) {
    throw std::runtime_error(option + ": " + re->error());
  }
  return re;
}

// Unanchored search (Go's FindStringSubmatch); on a match, named groups go into `vars`.
bool match_vars(const re2::RE2& re, std::string_view text,
                std::map<std::string, std::string>& vars) {
  int groups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> sub(static_cast<size_t>(groups) + 1);
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::UNANCHORED,
                sub.data(), groups + 1)) {
    return false;
  }
  for (const auto& [name, index] : re.NamedCapturingGroups()) {
    const auto& piece = sub[static_cast<size_t>(index)];
    vars[name] = piece.data() == nullptr ? std::string() : std::string(piece.data(), piece.size());
  }
  return true;
}

}  // namespace

struct Verifier::Impl {
  struct Checked {
    DecodedClaims claims;
    simdjson::padded_string payload;
  };

  std::shared_ptr<const config::Config> cfg;
  std::string audience;
  std::string issuer;
  std::string user_id_claim;
  std::unique_ptr<re2::RE2> audience_re;
  std::unique_ptr<re2::RE2> issuer_re;
  std::unique_ptr<SignatureKeys> keys;
  std::string jwks_url;               // non-empty: every token is verified through JWKS
  std::shared_ptr<JwksCache> jwks;
  bool skip_signature = false;

  // Steps 1-9 of server-api.md §3.2 (step 8 for connection tokens only).
  std::expected<Checked, TokenError> check(std::string_view token, TokenKind kind, double now,
                                           JwksFetch* fetch) const;
  // Whether `channel` resolves to a configured namespace (rule.Container.ChannelOptions).
  bool channel_known(std::string_view channel) const;
  // Step 11.
  std::string user_id(const Checked& checked) const;
};

std::expected<Verifier::Impl::Checked, TokenError> Verifier::Impl::check(std::string_view token,
                                                                         TokenKind kind,
                                                                         double now,
                                                                         JwksFetch* fetch) const {
  auto parsed = parse_token(token);
  if (!parsed) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!valid_json(parsed->payload)) {
    return std::unexpected(TokenError::kInvalid);
  }
  auto claims = decode_claims(parsed->payload, kind);
  if (!claims) {
    return std::unexpected(TokenError::kInvalid);
  }
  const auto& aud = claims->aud;
  if (!audience.empty() && std::find(aud.begin(), aud.end(), audience) == aud.end()) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!issuer.empty() && claims->iss != issuer) {
    return std::unexpected(TokenError::kInvalid);
  }
  // Named groups of the issuer and audience regexes are the JWKS URL's template variables.
  std::map<std::string, std::string> vars;
  if (issuer_re && !match_vars(*issuer_re, claims->iss, vars)) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (audience_re && std::none_of(aud.begin(), aud.end(), [&](const std::string& a) {
        return match_vars(*audience_re, a, vars);
      })) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!skip_signature) {
    if (jwks) {
      // server-api.md §3.4: kid required; the key comes from the cache or a fetch.
      if (parsed->kid.empty()) {
        return std::unexpected(TokenError::kInvalid);
      }
      auto key = jwks->find(parsed->kid);
      if (!key) {
        if (fetch == nullptr) {
          return std::unexpected(TokenError::kInvalid);
        }
        fetch->url = expand_jwks_url(jwks_url, vars);
        fetch->kid = parsed->kid;
        return std::unexpected(TokenError::kKeysNeeded);
      }
      if (!key->verify(parsed->alg, parsed->signing_input, parsed->signature)) {
        return std::unexpected(TokenError::kInvalid);
      }
    } else if (!keys->verify(parsed->alg, parsed->signing_input, parsed->signature)) {
      return std::unexpected(TokenError::kInvalid);
    }
  }
  if (kind == TokenKind::kConnect && !claims->channel.empty()) {
    // "connection JWT can not contain channel claim, only subscription JWT can"
    return std::unexpected(TokenError::kInvalid);
  }
  // No leeway, sub-second precision; iat is not checked.
  if ((claims->exp && !(*claims->exp > now)) || (claims->nbf && !(*claims->nbf < now))) {
    return std::unexpected(TokenError::kExpired);
  }
  return Checked{std::move(*claims), std::move(parsed->payload)};
}

bool Verifier::Impl::channel_known(std::string_view channel) const {
  const std::string& prefix = cfg->channel_private_prefix;
  if (!prefix.empty() && channel.starts_with(prefix)) {
    channel.remove_prefix(prefix.size());
  }
  std::string_view ns;
  const std::string& boundary = cfg->channel_namespace_boundary;
  if (!boundary.empty()) {
    size_t pos = channel.find(boundary);
    if (pos != std::string_view::npos) {
      ns = channel.substr(0, pos);
    }
  }
  return cfg->find_namespace(ns) != nullptr;
}

std::string Verifier::Impl::user_id(const Checked& checked) const {
  if (user_id_claim.empty()) {
    return checked.claims.sub;
  }
  return user_id_from_claim(checked.payload, user_id_claim);
}

Verifier::Verifier(const config::TokenConfig& token, std::shared_ptr<const config::Config> cfg)
    : impl_(std::make_unique<Impl>()) {
  assert(cfg != nullptr);
  // Errors name the option the operator wrote, so tell the two token configs apart.
  std::string prefix = &token == &cfg->subscription_token ? "subscription_token_" : "token_";
  if (!token.jwks_public_endpoint.empty()) {
    const std::string& url = token.jwks_public_endpoint;
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      throw std::runtime_error(prefix + "jwks_public_endpoint: endpoint must have http:// or "
                               "https:// scheme, got: " + url);
    }
    impl_->jwks_url = url;
    impl_->jwks = std::make_shared<JwksCache>();
  }
  if (!token.audience.empty() && !token.audience_regex.empty()) {
    throw std::runtime_error(prefix + "audience_regex: can not be used together with " + prefix +
                             "audience");
  }
  if (!token.issuer.empty() && !token.issuer_regex.empty()) {
    throw std::runtime_error(prefix + "issuer_regex: can not be used together with " + prefix +
                             "issuer");
  }
  impl_->audience = token.audience;
  impl_->issuer = token.issuer;
  impl_->user_id_claim = token.user_id_claim;
  impl_->audience_re = compile_regex(token.audience_regex, prefix + "audience_regex");
  impl_->issuer_re = compile_regex(token.issuer_regex, prefix + "issuer_regex");
  impl_->keys = std::make_unique<SignatureKeys>(token, prefix);
  impl_->skip_signature = cfg->client_insecure_skip_token_signature_verify;
  impl_->cfg = std::move(cfg);
}

Verifier::~Verifier() = default;

bool Verifier::uses_jwks() const { return impl_->jwks != nullptr; }

bool Verifier::store_jwks(const JwksFetch& fetch, std::string_view body) const {
  if (!impl_->jwks) {
    return false;
  }
  auto set = parse_jwk_set(body);
  if (!set) {
    return false;
  }
  return impl_->jwks->store(*set, fetch.kid) != nullptr;
}

std::expected<ConnectClaims, TokenError> Verifier::verify_connect(std::string_view token,
                                                                  double now,
                                                                  JwksFetch* fetch) const {
  auto checked = impl_->check(token, TokenKind::kConnect, now, fetch);
  if (!checked) {
    return std::unexpected(checked.error());
  }
  DecodedClaims& claims = checked->claims;
  ConnectClaims out;
  if (!claims.subs.empty()) {
    out.subs.reserve(claims.subs.size());
    for (auto& [channel, options] : claims.subs) {
      if (!impl_->channel_known(channel)) {
        return std::unexpected(TokenError::kUnknownChannel);
      }
      SubscribeOptions resolved;
      if (!resolve_binary(options.b64info, options.info, resolved.info) ||
          !resolve_binary(options.b64data, options.data, resolved.data)) {
        return std::unexpected(TokenError::kInvalid);
      }
      resolved.override = options.override;
      out.subs.emplace_back(std::move(channel), std::move(resolved));
    }
  } else {
    // Centrifugo collects channels into a map: a repeated channel subscribes once.
    std::unordered_set<std::string_view> seen;
    for (const std::string& channel : claims.channels) {
      if (!impl_->channel_known(channel)) {
        return std::unexpected(TokenError::kUnknownChannel);
      }
      if (seen.insert(channel).second) {
        out.subs.emplace_back(channel, SubscribeOptions{});
      }
    }
  }
  out.exp = to_unix_seconds(claims.exp);
  out.expire_at = claims.expire_at;
  // Reference quirk: a bad top-level b64info is a plain error (100), not an invalid token.
  if (!resolve_binary(claims.b64info, claims.info, out.info)) {
    return std::unexpected(TokenError::kInternal);
  }
  out.meta = claims.meta.value_or("");
  out.user = impl_->user_id(*checked);
  return out;
}

std::expected<SubscribeClaims, TokenError> Verifier::verify_subscribe(std::string_view token,
                                                                      double now,
                                                                      JwksFetch* fetch) const {
  auto checked = impl_->check(token, TokenKind::kSubscribe, now, fetch);
  if (!checked) {
    return std::unexpected(checked.error());
  }
  DecodedClaims& claims = checked->claims;
  // Checked after the time check, as in Centrifugo.
  if (claims.channel.empty()) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!impl_->channel_known(claims.channel)) {
    return std::unexpected(TokenError::kUnknownChannel);
  }
  SubscribeClaims out;
  if (!resolve_binary(claims.options.b64info, claims.options.info, out.info) ||
      !resolve_binary(claims.options.b64data, claims.options.data, out.data)) {
    return std::unexpected(TokenError::kInvalid);
  }
  out.channel = std::move(claims.channel);
  out.client = std::move(claims.client);
  out.override = claims.options.override;
  out.exp = to_unix_seconds(claims.exp);
  out.expire_at = claims.expire_at;
  out.user = impl_->user_id(*checked);
  return out;
}

int64_t ConnectClaims::expires_at() const {
  if (expire_at) {
    return *expire_at > 0 ? *expire_at : 0;
  }
  return exp.value_or(0);
}

int64_t SubscribeClaims::expires_at() const {
  if (expire_at) {
    return *expire_at > 0 ? *expire_at : 0;
  }
  return exp.value_or(0);
}

std::string make_hs256_token(std::string_view secret, std::string_view payload_json) {
  std::string token = base64::encode_url(kHs256Header);
  token += '.';
  token += base64::encode_url(payload_json);
  std::string signature = hmac_sign("HS256", secret, token);
  token += '.';
  token += base64::encode_url(signature);
  return token;
}

}  // namespace gyre::auth
