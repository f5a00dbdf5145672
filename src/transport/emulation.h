#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

// The client -> server half of the bidirectional emulation (client-protocol.md §8.2.3):
// decoding `POST /emulation` bodies, and the registry that routes them by session to the
// streaming connection that owns it.
namespace gyre::transport {

class StreamSession;

// EmulationRequest {1 node, 2 session, 3 data} (client-protocol.md §3.6).
struct EmulationRequest {
  std::string node;
  std::string session;
  // Protobuf: the length-delimited Command frame. JSON: the raw JSON value of `data`
  // (for a JSON connection, a JSON string holding the command frame text).
  std::string data;
};

// JSON body: an object with string `node`/`session` and any JSON `data`; unknown keys are
// ignored, `null` values leave fields empty (Go's encoding/json). nullopt = 400.
std::optional<EmulationRequest> decode_emulation_json(std::string_view body);
// Protobuf body: a non-delimited EmulationRequest. Unknown fields are skipped. nullopt = 400.
std::optional<EmulationRequest> decode_emulation_protobuf(std::string_view body);
// The content of a JSON string value (`"..."` with escapes resolved), or nullopt when `raw`
// is not exactly one JSON string.
std::optional<std::string> decode_json_string(std::string_view raw);

// session -> (shard, weak handle) of every live emulation-capable stream (http_stream, sse)
// on this node. Thread-safe: one mutex, taken when a stream opens or closes and once per
// emulation request (an O(1) hash lookup; never on the publication path).
class EmulationRegistry {
 public:
  struct Entry {
    unsigned shard = 0;
    std::weak_ptr<StreamSession> session;
  };
  static void add(const std::string& session, Entry e);
  static void remove(const std::string& session);
  static std::optional<Entry> find(const std::string& session);
  static size_t size();
};

}  // namespace gyre::transport
