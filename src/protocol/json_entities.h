#pragma once

#include <string>
#include <string_view>

#include "protocol/json_writer.h"
#include "protocol/types.h"

// The JSON forms of Centrifugo's entities that both the client protocol codec and the server
// API write: ClientInfo and Publication (client-protocol.md §2.2, server-api.md §1.6), and
// raw-JSON re-emission as Go's encoder does it. Stateless functions: thread-safe.
namespace gyre::protocol {

// How raw-JSON fields (data, conn_info, chan_info) are written.
enum class RawJson : uint8_t {
  kVerbatim,  // the bytes as stored (client protocol: Centrifuge writes json.RawMessage as is)
  kCompact,   // as Go's encoding/json re-emits a json.RawMessage (server API): append_compact_json
};

struct PublicationJson {
  RawJson raw = RawJson::kVerbatim;
  bool with_epoch = false;      // `epoch` on the first publication of a stream (push form)
  bool data_as_string = false;  // delta-negotiated subscriptions carry data as a string (§9.3)
  bool delta_flag = true;       // write `"delta":true` for delta publications
  bool sorted_tags = false;     // tags in key order, as Go's encoding/json writes a map
};

// ClientInfo: user and client always, conn_info/chan_info when non-empty. False (the writer
// then holds a partial value) only with RawJson::kCompact when a raw field is not valid JSON.
[[nodiscard]] bool write_client_info(JsonWriter& w, const ClientInfo& info,
                                     RawJson raw = RawJson::kVerbatim);
// Publication: data, info, offset (when > 0), tags (when any), delta, epoch per `opts`. False
// as write_client_info.
[[nodiscard]] bool write_publication(JsonWriter& w, const Publication& p,
                                     const PublicationJson& opts = {});

// Appends `raw` compacted the way Go's encoder re-emits a json.RawMessage: insignificant
// whitespace removed, `<`, `>`, `&`, U+2028 and U+2029 inside strings escaped. Returns false
// (appending nothing) when `raw` is not exactly one valid JSON value.
bool append_compact_json(std::string& out, std::string_view raw);

}  // namespace gyre::protocol
