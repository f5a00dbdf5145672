#pragma once

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/json_raw.h"

// Field decoders that follow Go's encoding/json (server-api.md §0.1) over simdjson On-Demand
// values, shared by the client command decoder (protocol/json_codec.cc), the server API request
// decoder (api/requests.cc), the JWT claim decoder (auth/jwt_claims.cc) and the proxy answer
// decoder (proxy/http_proxy.cc). Each writes into an existing field, because Go's decoder does: a
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

// Scalars: `null` leaves the field unchanged (Go's decoder does); any other type mismatch, or
// a number out of the field's range, fails.
inline bool is_null(od::value& v) {
  bool n = false;
  return v.is_null().get(n) == simdjson::SUCCESS && n;
}

inline bool decode_bool(od::value& v, bool& field) {
  return is_null(v) || v.get_bool().get(field) == simdjson::SUCCESS;
}

inline bool decode_int64(od::value& v, int64_t& field) {
  return is_null(v) || v.get_int64().get(field) == simdjson::SUCCESS;
}

inline bool decode_uint64(od::value& v, uint64_t& field) {
  return is_null(v) || v.get_uint64().get(field) == simdjson::SUCCESS;
}

inline bool decode_int32(od::value& v, int32_t& field) {
  if (is_null(v)) {
    return true;
  }
  int64_t x = 0;
  if (v.get_int64().get(x) != simdjson::SUCCESS || x < std::numeric_limits<int32_t>::min() ||
      x > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  field = static_cast<int32_t>(x);
  return true;
}

inline bool decode_uint32(od::value& v, uint32_t& field) {
  if (is_null(v)) {
    return true;
  }
  uint64_t x = 0;
  if (v.get_uint64().get(x) != simdjson::SUCCESS || x > std::numeric_limits<uint32_t>::max()) {
    return false;
  }
  field = static_cast<uint32_t>(x);
  return true;
}

// json.RawMessage into a string: the exact bytes of any value, `null` included.
inline bool decode_raw(od::value& v, std::string& field) {
  std::string_view raw;
  if (!raw_json_bytes(v, raw)) {
    return false;
  }
  field.assign(raw);
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
