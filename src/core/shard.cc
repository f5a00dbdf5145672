#include "core/shard.h"

namespace gyre {

ShardSet::ShardSet(unsigned count) {
  if (count == 0) {
    count = 1;
  }
  for (unsigned i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>(i));
  }
}

ShardSet::~ShardSet() { discard_pending(); }

void ShardSet::discard_pending() {
  for (auto& s : shards_) {
    s->discard_pending();
  }
}

unsigned ShardSet::home_index(std::string_view channel) const {
  // FNV-1a: stable across runs, cheap for short names.
  uint64_t h = 14695981039346656037ull;
  for (char c : channel) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return static_cast<unsigned>(h % shards_.size());
}

}  // namespace gyre
