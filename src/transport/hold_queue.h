#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/prefetch.h"

// Connections whose output write coalescing holds (write_coalescing.h), released in time
// order: a binary min-heap on the hold's end. A hold costs O(log n), the earliest end is O(1),
// and releasing the k due holds costs O(k log n) — the connections still held are never
// scanned (with thousands of held connections, a scan per loop turn cost more than the writes
// it saved).
//
// Each entry keeps its object alive (a shared_ptr), so a connection that ended while held is
// released into its own finished state, never into freed memory. Entries may be stale: the
// connection was written earlier (an urgent reply, a close) and possibly held again since,
// with a new entry. The entry carries the connection's last-write stamp as of the hold, which
// the callback compares with the connection's current one: a stale entry then does nothing,
// so it can neither write the connection before its current hold ends nor write it twice.
//
// Shard-local: one per shard, used only by that shard's thread.
namespace gyre::transport {

class HoldQueue {
 public:
  // Called with the held object and the stamp given to hold(); true when it wrote the object
  // (false for a stale entry).
  using Release = bool (*)(void* object, uint32_t stamp);

  struct Entry {
    uint64_t until_us;
    std::shared_ptr<void> keep;
    Release fn;
    uint32_t stamp;
  };

  void hold(uint64_t until_us, std::shared_ptr<void> keep, Release fn, uint32_t stamp) {
    heap_.push_back(Entry{until_us, std::move(keep), fn, stamp});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The earliest hold end; 0 when nothing is held.
  uint64_t earliest_us() const { return heap_.empty() ? 0 : heap_.front().until_us; }

  // Calls the callback of every entry due at `now_us` (until_us <= now_us), earliest first, and
  // drops them; returns how many callbacks wrote their object. A callback may hold() again:
  // each entry is taken out before its callback runs, and an entry added with a later end
  // stays queued.
  size_t release_due(uint64_t now_us) {
    size_t written = 0;
    while (!heap_.empty() && heap_.front().until_us <= now_us) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      Entry e = std::move(heap_.back());
      heap_.pop_back();
      if (!heap_.empty()) {
        // Most likely the next one released: a session, cold after a window's wait, fetched
        // while this one's release writes its socket.
        core::prefetch_lines(heap_.front().keep.get(), kPrefetchBytes);
      }
      if (e.fn(e.keep.get(), e.stamp)) {
        ++written;
      }
    }
    return written;
  }

 private:
  static constexpr size_t kPrefetchBytes = 320;  // a WebSocket session's lines
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return a.until_us > b.until_us; }
  };
  std::vector<Entry> heap_;
};

}  // namespace gyre::transport
