#include "transport/emulation.h"

#include <simdjson.h>

#include <mutex>
#include <unordered_map>

#include "protocol/json_raw.h"
#include "protocol/protobuf_wire.h"

namespace gyre::transport {

namespace {

bool read_string_field(simdjson::ondemand::value v, std::string& out) {
  auto type = v.type();
  if (type.error()) {
    return false;
  }
  if (type.value() == simdjson::ondemand::json_type::null) {
    return !v.is_null().error();
  }
  std::string_view s;
  if (v.get_string().get(s)) {
    return false;
  }
  out.assign(s);
  return true;
}

}  // namespace

std::optional<EmulationRequest> decode_emulation_json(std::string_view body) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) {
    return std::nullopt;
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) {
    return std::nullopt;
  }
  EmulationRequest req;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      return std::nullopt;
    }
    simdjson::ondemand::value v;
    if (field.value().get(v)) {
      return std::nullopt;
    }
    if (key == "node") {
      if (!read_string_field(v, req.node)) {
        return std::nullopt;
      }
    } else if (key == "session") {
      if (!read_string_field(v, req.session)) {
        return std::nullopt;
      }
    } else {
      std::string_view raw;
      if (!protocol::raw_json_bytes(v, raw)) {
        return std::nullopt;
      }
      if (key == "data") {
        req.data.assign(raw);
      }
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return std::nullopt;  // trailing content after the object
  }
  return req;
}

std::optional<EmulationRequest> decode_emulation_protobuf(std::string_view body) {
  EmulationRequest req;
  bool ok = protocol::pb::for_each_field(body, [&](const protocol::pb::Field& f) {
    switch (f.number) {
      case 1:
        return protocol::pb::read(f, req.node);
      case 2:
        return protocol::pb::read(f, req.session);
      case 3:
        return protocol::pb::read(f, req.data);
      default:
        return true;
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return req;
}

std::optional<std::string> decode_json_string(std::string_view raw) {
  simdjson::padded_string padded(raw);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) {
    return std::nullopt;
  }
  std::string_view s;
  if (doc.get_string().get(s)) {
    return std::nullopt;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return std::nullopt;
  }
  return std::string(s);
}

namespace {
struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, EmulationRegistry::Entry> sessions;
};
Registry& registry() {
  static auto* r = new Registry();  // never destroyed: sessions may unregister at exit
  return *r;
}
}  // namespace

void EmulationRegistry::add(const std::string& session, Entry e) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.sessions[session] = std::move(e);
}

void EmulationRegistry::remove(const std::string& session) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.sessions.erase(session);
}

std::optional<EmulationRegistry::Entry> EmulationRegistry::find(const std::string& session) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.sessions.find(session);
  if (it == r.sessions.end()) {
    return std::nullopt;
  }
  return it->second;
}

size_t EmulationRegistry::size() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  return r.sessions.size();
}

}  // namespace gyre::transport
