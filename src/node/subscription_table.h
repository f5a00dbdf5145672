#pragma once

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

namespace gyre::node {

// A client's subscriptions keyed by a view of each subscription's own channel string (one copy
// of the name), in channel order, as the std::map it replaces: find / count / emplace / erase
// and iteration over (channel, owner) pairs. A sorted small vector with the first entry held
// inline: a client with one subscription allocates nothing for the table (a map node was a
// 64-byte block per subscription, docs/performance.md "Idle connections"). The key must view
// the value's own string, which lives in the value's heap block and so does not move with
// the entry.
//
// Unlike std::map, emplace and erase move the other entries: iterators do not survive a
// change of the table (code that may subscribe or unsubscribe finds again by channel).
// Shard-local: a member of its Client, on the client's shard.
template <class T>
class SubscriptionTable {
 public:
  using value_type = std::pair<std::string_view, std::unique_ptr<T>>;
  using Storage = boost::container::small_vector<value_type, 1>;
  using iterator = typename Storage::iterator;
  using const_iterator = typename Storage::const_iterator;

  iterator begin() { return v_.begin(); }
  iterator end() { return v_.end(); }
  const_iterator begin() const { return v_.begin(); }
  const_iterator end() const { return v_.end(); }
  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }

  iterator find(std::string_view channel) {
    auto it = lower(channel);
    return it != v_.end() && it->first == channel ? it : v_.end();
  }
  const_iterator find(std::string_view channel) const {
    auto it = lower(channel);
    return it != v_.end() && it->first == channel ? it : v_.end();
  }
  size_t count(std::string_view channel) const { return find(channel) != end() ? 1 : 0; }

  // Inserts unless `channel` is present (then `value` is dropped), as std::map::emplace.
  std::pair<iterator, bool> emplace(std::string_view channel, std::unique_ptr<T> value) {
    auto it = lower(channel);
    if (it != v_.end() && it->first == channel) {
      return {it, false};
    }
    return {v_.insert(it, value_type(channel, std::move(value))), true};
  }

  size_t erase(std::string_view channel) {
    auto it = find(channel);
    if (it == v_.end()) {
      return 0;
    }
    v_.erase(it);
    return 1;
  }
  iterator erase(iterator it) { return v_.erase(it); }

 private:
  iterator lower(std::string_view channel) {
    return std::lower_bound(v_.begin(), v_.end(), channel,
                            [](const value_type& e, std::string_view c) { return e.first < c; });
  }
  const_iterator lower(std::string_view channel) const {
    return std::lower_bound(v_.begin(), v_.end(), channel,
                            [](const value_type& e, std::string_view c) { return e.first < c; });
  }

  Storage v_;
};

}  // namespace gyre::node
