#include "protocol/json_entities.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "protocol/codec.h"

namespace gyre::protocol {
namespace {

bool raw_field(JsonWriter& w, std::string_view k, std::string_view raw, RawJson mode) {
  if (mode == RawJson::kVerbatim) {
    w.field_raw(k, raw);
    return true;
  }
  std::string compact;
  if (!append_compact_json(compact, raw)) {
    return false;
  }
  w.field_raw(k, compact);
  return true;
}

}  // namespace

bool write_client_info(JsonWriter& w, const ClientInfo& info, RawJson raw) {
  w.begin_object();
  w.field("user", info.user);
  w.field("client", info.client);
  if (!info.conn_info.empty() && !raw_field(w, "conn_info", info.conn_info, raw)) {
    return false;
  }
  if (!info.chan_info.empty() && !raw_field(w, "chan_info", info.chan_info, raw)) {
    return false;
  }
  w.end_object();
  return true;
}

bool write_publication(JsonWriter& w, const Publication& p, const PublicationJson& opts) {
  w.begin_object();
  if (!p.data.empty()) {
    if (opts.data_as_string) {
      w.field("data", p.data);
    } else if (!raw_field(w, "data", p.data, opts.raw)) {
      return false;
    }
  }
  if (p.info) {
    w.key("info");
    if (!write_client_info(w, *p.info, opts.raw)) {
      return false;
    }
  }
  if (p.offset != 0) {
    w.field_uint("offset", p.offset);
  }
  if (!p.tags.empty()) {
    w.key("tags");
    w.begin_object();
    auto write_tags = [&w](const auto& tags) {
      for (const auto& [k, v] : tags) {
        w.key_escaped(k);
        w.string(v);
      }
    };
    if (opts.sorted_tags) {
      auto tags = p.tags;
      std::sort(tags.begin(), tags.end());
      write_tags(tags);
    } else {
      write_tags(p.tags);
    }
    w.end_object();
  }
  if (p.delta && opts.delta_flag) {
    w.field_bool("delta", true);
  }
  if (opts.with_epoch && !p.epoch.empty() && p.offset == 1) {
    w.field("epoch", p.epoch);
  }
  w.end_object();
  return true;
}

bool append_compact_json(std::string& out, std::string_view raw) {
  if (!protocol::valid_json(raw)) {
    return false;
  }
  out.reserve(out.size() + raw.size());
  bool in_string = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (!in_string) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        continue;
      }
      if (c == '"') {
        in_string = true;
      }
      out += c;
      continue;
    }
    switch (c) {
      case '\\':
        out += c;
        out += raw[++i];  // valid JSON: an escape always has a next byte
        break;
      case '"':
        in_string = false;
        out += c;
        break;
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '\xE2':
        if (i + 2 < raw.size() && raw[i + 1] == '\x80' &&
            (raw[i + 2] == '\xA8' || raw[i + 2] == '\xA9')) {
          out += raw[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out += c;
        }
        break;
      default:
        out += c;
    }
  }
  return true;
}

}  // namespace gyre::protocol
