#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/clock.h"

// A hashed timer wheel for the deadlines of a shard's clients (pings, pong and stale
// timeouts, expiries). An idle connection costs nothing until its own deadline: a tick
// touches only the items due in its slot. Each item is in at most one slot; deadlines past
// the horizon fire early and are scheduled again by their owner. `T` exposes
// `TimerWheelHandle& wheel_handle()`. Shard-local.
namespace gyre::node {

struct TimerWheelHandle {
  int32_t slot = -1;
  uint32_t index = 0;
};

template <typename T>
class TimerWheel {
 public:
  static constexpr std::chrono::milliseconds kTick{250};
  static constexpr size_t kSlots = 512;  // horizon: 128 s

  explicit TimerWheel(clock::TimePoint origin = clock::now()) : origin_(origin), slots_(kSlots) {}

  // (Re)schedules `item` at `when`, rounded up to a tick: it never fires early.
  void schedule(T* item, clock::TimePoint when) {
    TimerWheelHandle& h = item->wheel_handle();
    cancel(item);
    int64_t t = (when - origin_ + kTick - std::chrono::nanoseconds(1)) / kTick;
    if (t < current_) {
      t = current_;
    }
    if (t >= current_ + static_cast<int64_t>(kSlots)) {
      t = current_ + static_cast<int64_t>(kSlots) - 1;
    }
    auto& slot = slots_[static_cast<size_t>(t % kSlots)];
    h.slot = static_cast<int32_t>(t % kSlots);
    h.index = static_cast<uint32_t>(slot.size());
    slot.push_back(item);
  }

  void cancel(T* item) {
    TimerWheelHandle& h = item->wheel_handle();
    if (h.slot < 0) {
      return;
    }
    auto& slot = slots_[static_cast<size_t>(h.slot)];
    T* last = slot.back();
    slot[h.index] = last;
    last->wheel_handle().index = h.index;
    slot.pop_back();
    h.slot = -1;
  }

  // Runs fn(item) for every item due by `now` (detached from the wheel first). fn may
  // schedule or cancel any item.
  template <typename F>
  void advance(clock::TimePoint now, F&& fn) {
    const int64_t target = (now - origin_) / kTick;
    while (current_ <= target) {
      auto& slot = slots_[static_cast<size_t>(current_ % kSlots)];
      ++current_;
      if (slot.empty()) {
        continue;
      }
      due_.swap(slot);
      for (T* item : due_) {
        item->wheel_handle().slot = -1;
      }
      for (T* item : due_) {
        fn(item);
      }
      due_.clear();
    }
  }

  // The time of tick 0: deadlines are rounded up to origin + k * kTick.
  clock::TimePoint origin() const { return origin_; }

  size_t size() const {
    size_t n = 0;
    for (const auto& s : slots_) {
      n += s.size();
    }
    return n;
  }

 private:
  clock::TimePoint origin_;
  int64_t current_ = 0;  // next tick to process
  std::vector<std::vector<T*>> slots_;
  std::vector<T*> due_;
};

}  // namespace gyre::node
