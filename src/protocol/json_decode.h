#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/json_raw.h"

// Field decoders that follow Go's encoding/json (server-api.md §0.1) over simdjson On-Demand
// values, shared by the JWT claim decoder (auth/jwt_claims.cc) and the proxy answer decoder
// (proxy/http_proxy.cc). Each writes into an existing field, because Go's decoder does: a
// repeated key is applied on top of what the earlier one left. Stateless: thread-safe.
namespace gyre::protocol::json {

namespace od = simdjson::ondemand;
using JsonType = od::json_type;

// Calls `fn(key, value)` for each member of `object`, in document order; false when a member
// does not parse or `fn` fails.
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

inline bool type_of(od::value& v, JsonType& type) {
  return v.type().get(type) == simdjson::SUCCESS;
}

// string: null leaves the field unchanged.
inline bool decode_string(od::value& v, std::string& field) {
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
inline bool decode_raw(od::value& v, std::optional<std::string>& field) {
  std::string_view raw;
  if (!raw_json_bytes(v, raw)) {
    return false;
  }
  field.emplace(raw);
  return true;
}

// *BoolValue ({"value": bool}): null clears it; an object sets it (false unless `value` says
// otherwise; a repeated key updates the existing value, a null `value` leaves it).
inline bool decode_bool_value(od::value& v, std::optional<bool>& field) {
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

}  // namespace gyre::protocol::json
