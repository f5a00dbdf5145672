#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "protocol/types.h"

// Subscription recovery as pure functions (client-protocol.md §5.3, §9.2): what to read from
// the stream for a subscribe, and what the reply says given what was read. No session, node
// or engine state: callable from any thread, testable without a socket.
namespace gyre::node::recovery {

// What the client asked to recover from, and how the namespace recovers.
struct Request {
  bool positioned = false;   // the subscription tracks the stream (positioned or recoverable)
  bool recoverable = false;  // recovery negotiated
  bool recover = false;      // the client asks to recover from {offset, epoch}
  uint64_t offset = 0;
  std::string epoch;
  bool cache_mode = false;          // force_recovery_mode: cache
  bool reject_unrecovered = false;  // subscribe flag 2: fail with 112 instead of a fresh state
};

// The stream read of a subscribe: the top only, the publications since the client's
// position (at most `max_publications`, <= 0 = all), or the latest one in cache mode.
engine::HistoryFilter history_filter(const Request& r, int64_t max_publications);

// The recovery outcome of a subscribe reply.
struct Decision {
  bool recovered = false;
  // Recovery failed and the client asked to fail then: reply 112 (unrecoverable position).
  bool unrecoverable = false;
  // Offset the reply carries: the client's own when recovered, else the stream top.
  uint64_t offset = 0;
  std::vector<std::shared_ptr<const protocol::Publication>> publications;
};

// Decides from the history read (`hr`, made with history_filter(r)). Stream mode: recovered
// when the publications continue the client's offset up to the top within the same epoch.
// Cache mode: recovered when the latest publication is the top (it is sent unless the client
// already has it) or the stream is empty at the client's position.
Decision decide(const engine::HistoryResult& hr, const Request& r);

// Recovered publications of a delta subscription as a fossil chain (client-protocol.md §9.2
// rule 5): the first stays full, each later one becomes a patch against the one before it
// when that is shorter. `utf8_safe`: JSON connections get patches that keep the data valid
// UTF-8. The originals are not modified; patched entries are copies.
std::vector<std::shared_ptr<const protocol::Publication>> delta_chain(
    const std::vector<std::shared_ptr<const protocol::Publication>>& pubs, bool utf8_safe);

}  // namespace gyre::node::recovery
