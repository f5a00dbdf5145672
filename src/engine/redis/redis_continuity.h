#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

// Stream continuity of one subscribed channel as one node's Redis PUB/SUB connection sees it.
//
// Redis publishes a stream's publications in offset order (the publish script appends and
// PUBLISHes atomically), so a publication whose offset is not above the last one seen, in the
// same epoch, means the stream lost entries — a promoted replica without the master's last
// writes, a restart from an older snapshot, a restart with an empty data set within the Unix
// second the old epoch was taken from — and its offsets are being handed out again: a
// subscriber positioned past the loss would skip the new publications silently (Centrifugo's
// scripts keep the epoch while the meta hash exists). The engine then moves the stream to a new
// epoch in Redis and delivers the held publications relabelled with it, so every positioned
// subscriber gets insufficient state and recovers honestly (`recovered: false`). After a
// PUB/SUB reconnect the reused offsets may have gone by unseen: the engine holds the channel's
// publications, reads the stream back at the last offset seen, and changes the epoch the same
// way when that entry is gone or is another publication (compared by hash).
//
// This class is the bookkeeping only (pure, no I/O). Thread affinity: shard 0, owned by the
// engine's PUB/SUB state of the channel; not thread-safe.
namespace gyre::engine::redis {

class StreamContinuity {
 public:
  // A publication on its way to the node's subscribers.
  struct Held {
    std::shared_ptr<Publication> pub;
    bool delta = false;
    std::shared_ptr<Publication> prev;
    size_t hash = 0;  // of the Publication bytes as Redis holds them (see hash_of)
  };
  enum class Verdict {
    kDeliver,      // in order: deliver now
    kHold,         // taken into the hold (an epoch change or a read-back is under way)
    kChangeEpoch,  // taken into the hold: the stream lost entries, change epoch() in Redis
  };

  static size_t hash_of(std::string_view publication_bytes);

  // A publication with an offset. Relabels it when it predates an epoch change made here.
  Verdict on_publication(Held& h);
  // Subscribed again after a lost connection: holds publications until release(). False when
  // nothing was seen yet (nothing to check) or a hold is already under way.
  bool begin_verify();
  // Whether the stream read back (its epoch, top offset and the bytes of its entry at
  // offset(); empty when not there) lost the last publication seen.
  bool lost(std::string_view epoch, uint64_t top, std::string_view entry_bytes) const;
  // Ends the hold: the held publications in order, relabelled from `old_epoch` to `new_epoch`
  // when `old_epoch` is not empty (later publications still carrying it are relabelled too).
  std::vector<Held> release(const std::string& old_epoch, const std::string& new_epoch);

  const std::string& epoch() const { return epoch_; }
  uint64_t offset() const { return offset_; }
  bool holding() const { return holding_; }

 private:
  void relabel(Held& h) const;
  void advance(const Held& h);

  std::string epoch_;
  uint64_t offset_ = 0;
  size_t hash_ = 0;
  std::string relabel_from_;
  std::string relabel_to_;
  bool holding_ = false;
  std::vector<Held> held_;
};

}  // namespace gyre::engine::redis
