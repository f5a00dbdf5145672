#include "engine/redis/redis_continuity.h"

#include <functional>
#include <utility>

namespace gyre::engine::redis {

size_t StreamContinuity::hash_of(std::string_view publication_bytes) {
  return std::hash<std::string_view>{}(publication_bytes);
}

void StreamContinuity::relabel(Held& h) const {
  if (!relabel_from_.empty() && h.pub->epoch == relabel_from_) {
    h.pub->epoch = relabel_to_;
    if (h.prev) {
      h.prev->epoch = relabel_to_;
    }
  }
}

void StreamContinuity::advance(const Held& h) {
  epoch_ = h.pub->epoch;
  offset_ = h.pub->offset;
  hash_ = h.hash;
}

StreamContinuity::Verdict StreamContinuity::on_publication(Held& h) {
  relabel(h);
  if (holding_) {
    held_.push_back(std::move(h));
    return Verdict::kHold;
  }
  if (!epoch_.empty() && h.pub->epoch == epoch_ && h.pub->offset <= offset_) {
    holding_ = true;
    held_.push_back(std::move(h));
    return Verdict::kChangeEpoch;
  }
  advance(h);
  return Verdict::kDeliver;
}

bool StreamContinuity::begin_verify() {
  if (offset_ == 0 || holding_) {
    return false;
  }
  holding_ = true;
  return true;
}

bool StreamContinuity::lost(std::string_view epoch, uint64_t top,
                            std::string_view entry_bytes) const {
  if (epoch != epoch_) {
    return false;  // a new stream (or no meta yet): the epoch check covers it
  }
  if (top < offset_) {
    return true;
  }
  // A trimmed entry cannot be compared; recovery from before it fails honestly anyway.
  return !entry_bytes.empty() && hash_of(entry_bytes) != hash_;
}

std::vector<StreamContinuity::Held> StreamContinuity::release(const std::string& old_epoch,
                                                              const std::string& new_epoch) {
  holding_ = false;
  if (!old_epoch.empty()) {
    relabel_from_ = old_epoch;
    relabel_to_ = new_epoch;
    epoch_ = new_epoch;
    offset_ = 0;
  }
  std::vector<Held> out = std::move(held_);
  held_.clear();
  for (auto& h : out) {
    relabel(h);
    advance(h);
  }
  return out;
}

}  // namespace gyre::engine::redis
