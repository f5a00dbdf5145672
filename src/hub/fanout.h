#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protocol/types.h"

// One message for every subscriber of a channel on this node, encoded once. Built on the
// channel's home shard and handed (as shared_ptr<const Fanout>) once to every shard, which
// writes the same bytes to all its local subscribers. Immutable: thread-safe.
namespace gyre::hub {

struct Fanout {
  enum class Kind : uint8_t { kPublication, kJoin, kLeave };

  Kind kind = Kind::kPublication;
  std::string channel;
  std::shared_ptr<const protocol::Publication> pub;  // kPublication
  protocol::ClientInfo info;                         // kJoin, kLeave
  bool delta = false;
  // False when the payload is not valid JSON: JSON connections cannot receive it and are
  // closed with 3506 (client-protocol.md §2.2).
  bool json_compatible = true;
  // The bidirectional JSON push (Reply{push}), unframed.
  std::string json;
};

std::shared_ptr<const Fanout> make_publication_fanout(const std::string& channel,
                                                      std::shared_ptr<const protocol::Publication> pub,
                                                      bool delta);
std::shared_ptr<const Fanout> make_join_fanout(const std::string& channel,
                                               const protocol::ClientInfo& info);
std::shared_ptr<const Fanout> make_leave_fanout(const std::string& channel,
                                                const protocol::ClientInfo& info);

}  // namespace gyre::hub
