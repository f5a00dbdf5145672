#include "hub/fanout.h"

#include "protocol/codec.h"
#include "protocol/fossil.h"

namespace gyre::hub {

namespace {
std::shared_ptr<Fanout> make(unsigned num_shards) {
  auto f = std::make_shared<Fanout>();
  f->num_slots = num_shards == 0 ? 1 : num_shards;
  if (f->num_slots > 1) {
    f->more_slots = std::make_unique<std::unique_ptr<Fanout::ShardCache>[]>(f->num_slots - 1);
  }
  return f;
}
}  // namespace

std::shared_ptr<const Fanout> make_publication_fanout(
    const std::string& channel, std::shared_ptr<const protocol::Publication> pub, bool delta,
    unsigned num_shards, std::shared_ptr<const protocol::Publication> prev) {
  auto f = make(num_shards);
  // The broadcast begins here, encoding included (centrifuge times its hub's encoding too).
  f->broadcast.started = std::chrono::steady_clock::now();
  f->broadcast.pending.store(f->num_slots, std::memory_order_relaxed);
  if (delta && prev && !pub->data.empty()) {
    // Computed once per publication on the home shard. UTF-8-safe so the patch survives as a
    // JSON string (§9.3); a patch that is not shorter is not used (§9.2 rule 4).
    std::string patch = protocol::fossil::create_utf8_safe(prev->data, pub->data);
    if (patch.size() < pub->data.size()) {
      f->patch = std::move(patch);
    }
  }
  f->kind = Fanout::Kind::kPublication;
  f->channel = channel;
  f->delta = delta;
  f->json_compatible = pub->data_is_json || protocol::valid_json(pub->data);
  if (f->json_compatible) {
    protocol::json_codec().encode_pub(f->json, channel, *pub, false);
  }
  f->pub = std::move(pub);
  return f;
}

std::shared_ptr<const Fanout> make_join_fanout(const std::string& channel,
                                               const protocol::ClientInfo& info,
                                               unsigned num_shards) {
  auto f = make(num_shards);
  f->kind = Fanout::Kind::kJoin;
  f->channel = channel;
  f->info = info;
  protocol::json_codec().encode_join(f->json, channel, info, false);
  return f;
}

std::shared_ptr<const Fanout> make_leave_fanout(const std::string& channel,
                                                const protocol::ClientInfo& info,
                                                unsigned num_shards) {
  auto f = make(num_shards);
  f->kind = Fanout::Kind::kLeave;
  f->channel = channel;
  f->info = info;
  protocol::json_codec().encode_leave(f->json, channel, info, false);
  return f;
}

}  // namespace gyre::hub
