#include "hub/hub.h"

#include <algorithm>

namespace gyre::hub {

bool Hub::add(const std::string& channel, Subscriber* s) {
  auto [it, inserted] = channels_.try_emplace(channel);
  it->second.subs.push_back(s);
  ++it->second.live;
  ++num_subscriptions_;
  return inserted;
}

bool Hub::remove(const std::string& channel, Subscriber* s) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return false;
  }
  Entry& e = it->second;
  auto pos = std::find(e.subs.begin(), e.subs.end(), s);
  if (pos == e.subs.end()) {
    return false;
  }
  --e.live;
  --num_subscriptions_;
  if (e.iterating > 0) {
    *pos = nullptr;
    e.has_holes = true;
    return e.live == 0;
  }
  *pos = e.subs.back();
  e.subs.pop_back();
  if (e.live == 0) {
    channels_.erase(it);
    return true;
  }
  return false;
}

size_t Hub::num_subscribers(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.live;
}

bool Hub::broadcast(const std::shared_ptr<const Fanout>& f) {
  auto it = channels_.find(f->channel);
  if (it == channels_.end()) {
    return false;
  }
  // Entries are node-based: `e` stays valid while deliver() adds channels (rehash), and no
  // one erases it while `iterating` > 0.
  Entry* e = &it->second;
  ++e->iterating;
  const size_t n = e->subs.size();
  // Software pipeline over the cold subscriber objects (Subscriber::prefetch): the object
  // kObjectAhead deliveries ahead, then its stages at kStageAhead[k]. A deliver() may null
  // entries or append to the vector (n is fixed), never reorder it, so looking ahead is safe.
  constexpr size_t kObjectAhead = 12;
  constexpr size_t kStageAhead[] = {8, 5, 2};
  auto ahead = [&](size_t j, unsigned stage) {
    if (j < n) {
      if (const Subscriber* t = e->subs[j]; t != nullptr) {
        t->prefetch(stage);
      }
    }
  };
  for (size_t i = 0; i < n; ++i) {
    if (i + kObjectAhead < n) {
      __builtin_prefetch(e->subs[i + kObjectAhead]);  // null: a harmless hint
    }
    ahead(i + kStageAhead[0], 0);
    ahead(i + kStageAhead[1], 1);
    ahead(i + kStageAhead[2], 2);
    Subscriber* s = e->subs[i];
    if (s != nullptr) {
      s->deliver(f);
    }
  }
  if (--e->iterating > 0) {
    return true;  // an outer broadcast of this channel is still iterating
  }
  if (e->has_holes) {
    std::erase(e->subs, nullptr);
    e->has_holes = false;
  }
  if (e->live == 0) {
    channels_.erase(f->channel);
  }
  return true;
}

}  // namespace gyre::hub
