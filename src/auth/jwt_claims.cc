#include "auth/jwt_claims.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "protocol/json_decode.h"
#include "protocol/json_raw.h"

namespace gyre::auth::claims {
namespace {

namespace od = simdjson::ondemand;
using JsonType = od::json_type;

// Parsers are reused per thread. Above this size a throwaway parser is used so that one huge
// hostile token does not pin its buffers to a shard thread for good.
constexpr size_t kParserReuseLimit = 64 * 1024;

}  // namespace

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

namespace {

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

using protocol::key_is;
using protocol::json::decode_bool_value;
using protocol::json::decode_raw;
using protocol::json::decode_string;
using protocol::json::for_each_member;
using protocol::json::type_of;


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

}  // namespace

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

namespace {


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

}  // namespace

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

namespace {

// Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent.
std::string format_float(double value) {
  char buf[512];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  if (ec != std::errc()) {
    return {};
  }
  return std::string(buf, end);
}

}  // namespace

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


}  // namespace gyre::auth::claims
