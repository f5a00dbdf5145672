#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

// A shard's user index (NodeShard::users): the connections of each user id, for the server
// API's disconnect / refresh / subscribe by user and the node's distinct user count.
//
// A flat open-addressing table of pointers (linear probing, power-of-two capacity, grown at
// 3/4 load with tombstones counted), keyed by the element's own user id (`T::user()`, which
// must not change while indexed): 8 bytes per slot, ~11–21 bytes per connection, where a
// std::unordered_multimap node was a 48-byte heap block plus its bucket (docs/performance.md
// "Idle connections"). The distinct user count is kept on insert and erase (a user's entries
// all lie on the probe run from its hash, before the first empty slot).
//
// Shard-local, as the NodeShard holding it.
namespace gyre::node {

template <class T>
class FlatUserIndex {
 public:
  FlatUserIndex() = default;
  FlatUserIndex(const FlatUserIndex&) = delete;
  FlatUserIndex& operator=(const FlatUserIndex&) = delete;

  size_t size() const { return size_; }
  size_t distinct_users() const { return distinct_; }

  // Adds `c` (not already present).
  void insert(T* c) {
    if ((size_ + tombstones_ + 1) * 4 > cap_ * 3) {
      rehash(cap_ == 0 ? 16 : (size_ + 1) * 2 > cap_ ? cap_ * 2 : cap_);
    }
    std::string_view u = c->user();
    size_t i = hash(u) & (cap_ - 1);
    size_t free = SIZE_MAX;
    bool seen = false;
    for (;; i = (i + 1) & (cap_ - 1)) {
      T* s = slots_[i];
      if (s == nullptr) {
        break;
      }
      if (s == tomb()) {
        if (free == SIZE_MAX) {
          free = i;
        }
        continue;
      }
      assert(s != c && "inserted twice");
      if (!seen && s->user() == u) {
        seen = true;
      }
    }
    if (free == SIZE_MAX) {
      free = i;
    } else {
      --tombstones_;
    }
    slots_[free] = c;
    ++size_;
    if (!seen) {
      ++distinct_;
    }
  }

  // Removes `c`; nothing when absent.
  void erase(T* c) {
    if (cap_ == 0) {
      return;
    }
    std::string_view u = c->user();
    size_t found = SIZE_MAX;
    bool other = false;
    for (size_t i = hash(u) & (cap_ - 1); slots_[i] != nullptr; i = (i + 1) & (cap_ - 1)) {
      T* s = slots_[i];
      if (s == c) {
        found = i;
      } else if (s != tomb() && !other && s->user() == u) {
        other = true;
      }
    }
    if (found == SIZE_MAX) {
      return;
    }
    slots_[found] = tomb();
    ++tombstones_;
    --size_;
    if (!other) {
      --distinct_;
    }
    if (size_ == 0) {
      // Empty: back to no storage at all.
      slots_.reset();
      cap_ = 0;
      tombstones_ = 0;
    }
  }

  // f(T*) for each connection of `user`. `f` must not insert or erase.
  template <class F>
  void for_each(std::string_view user, F&& f) const {
    if (cap_ == 0) {
      return;
    }
    for (size_t i = hash(user) & (cap_ - 1); slots_[i] != nullptr; i = (i + 1) & (cap_ - 1)) {
      T* s = slots_[i];
      if (s != tomb() && s->user() == user) {
        f(s);
      }
    }
  }

  // f(std::string_view user) once per distinct user, in no particular order. `f` must not
  // insert or erase.
  template <class F>
  void for_each_user(F&& f) const {
    for (size_t i = 0; i < cap_; ++i) {
      T* s = slots_[i];
      if (s == nullptr || s == tomb()) {
        continue;
      }
      // The first entry of its user on the probe run from the user's hash names it.
      std::string_view u = s->user();
      bool first = true;
      for (size_t j = hash(u) & (cap_ - 1); j != i; j = (j + 1) & (cap_ - 1)) {
        T* o = slots_[j];
        if (o != tomb() && o->user() == u) {
          first = false;
          break;
        }
      }
      if (first) {
        f(u);
      }
    }
  }

 private:
  static T* tomb() { return reinterpret_cast<T*>(alignof(T)); }
  static size_t hash(std::string_view u) { return std::hash<std::string_view>{}(u); }

  void rehash(size_t cap) {
    auto old = std::move(slots_);
    size_t old_cap = cap_;
    slots_ = std::make_unique<T*[]>(cap);  // value-initialized: all empty
    cap_ = cap;
    tombstones_ = 0;
    for (size_t i = 0; i < old_cap; ++i) {
      T* s = old[i];
      if (s == nullptr || s == tomb()) {
        continue;
      }
      size_t j = hash(s->user()) & (cap_ - 1);
      while (slots_[j] != nullptr) {
        j = (j + 1) & (cap_ - 1);
      }
      slots_[j] = s;
    }
  }

  std::unique_ptr<T*[]> slots_;
  size_t cap_ = 0;  // 0 or a power of two
  size_t size_ = 0;
  size_t tombstones_ = 0;
  size_t distinct_ = 0;
};

}  // namespace gyre::node
