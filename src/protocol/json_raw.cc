#include "protocol/json_raw.h"

namespace gyre::protocol {

namespace od = simdjson::ondemand;

bool raw_json_bytes(od::value& v, std::string_view& raw) {
  od::json_type t;
  if (v.type().get(t)) {
    return false;
  }
  if (t == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) || o.raw_json().get(raw)) {
      return false;
    }
  } else if (t == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) || a.raw_json().get(raw)) {
      return false;
    }
  } else {
    raw = v.raw_json_token();
  }
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' ||
                          raw.back() == '\n')) {
    raw.remove_suffix(1);
  }
  return true;
}

}  // namespace gyre::protocol
