#include "engine/memory_streams.h"

#include <algorithm>
#include <unordered_set>

#include "core/random.h"

namespace gyre::engine {

namespace {
// Memory engine epochs are 4 random letters, as Centrifugo's memory engine.
constexpr size_t kEpochLength = 4;
}  // namespace

MemoryStreams::Stream& MemoryStreams::ensure(const std::string& channel, Duration meta_ttl,
                                             TimePoint now) {
  auto [it, inserted] = streams_.try_emplace(channel);
  Stream& s = it->second;
  if (inserted) {
    s.epoch = random::letters(kEpochLength);
  }
  if (meta_ttl.count() > 0) {
    s.meta_expire_at = std::max(s.meta_expire_at, now + meta_ttl);
  }
  schedule(channel, s);
  return s;
}

void MemoryStreams::schedule(const std::string& channel, Stream& s) {
  TimePoint due = s.meta_expire_at;
  if (!s.items.empty() && (due == TimePoint{} || s.items_expire_at < due)) {
    due = s.items_expire_at;
  }
  if (due == TimePoint{}) {
    return;
  }
  if (s.queued_at != TimePoint{} && s.queued_at <= due) {
    return;  // an earlier entry will re-schedule when it fires
  }
  s.queued_at = due;
  expiry_.emplace(due, channel);
}

std::shared_ptr<const Publication> MemoryStreams::add(const std::string& channel,
                                                      Publication pub,
                                                      const HistoryOptions& opts,
                                                      TimePoint now) {
  Stream& s = ensure(channel, opts.meta_ttl, now);
  pub.offset = ++s.top;
  pub.epoch = s.epoch;
  auto stored = std::make_shared<const Publication>(std::move(pub));
  s.items.push_back(stored);
  while (static_cast<int64_t>(s.items.size()) > opts.size) {
    s.items.pop_front();
  }
  s.items_expire_at = now + opts.ttl;
  schedule(channel, s);
  return stored;
}

StreamPosition MemoryStreams::top(const std::string& channel, Duration meta_ttl, TimePoint now) {
  Stream& s = ensure(channel, meta_ttl, now);
  return {s.top, s.epoch};
}

HistoryResult MemoryStreams::get(const std::string& channel, const HistoryFilter& filter,
                                 Duration meta_ttl, TimePoint now) {
  Stream& s = ensure(channel, meta_ttl, now);
  HistoryResult r;
  r.top = {s.top, s.epoch};
  if (filter.since && !filter.since->epoch.empty() && filter.since->epoch != s.epoch) {
    r.epoch_mismatch = true;
    return r;
  }
  if (filter.limit == 0 || s.items.empty()) {
    return r;
  }
  size_t limit = filter.limit < 0 ? s.items.size() : static_cast<size_t>(filter.limit);
  const auto& items = s.items;
  uint64_t first_offset = items.front()->offset;
  if (!filter.reverse) {
    size_t start = 0;
    if (filter.since) {
      // Publications with offset > since.offset.
      uint64_t want = filter.since->offset + 1;
      start = want <= first_offset ? 0 : static_cast<size_t>(want - first_offset);
    }
    for (size_t i = start; i < items.size() && r.publications.size() < limit; ++i) {
      r.publications.push_back(items[i]);
    }
  } else {
    size_t end = items.size();  // exclusive
    if (filter.since) {
      // Publications with offset < since.offset, newest first.
      uint64_t bound = filter.since->offset;
      end = bound <= first_offset ? 0
                                  : std::min(items.size(), static_cast<size_t>(bound - first_offset));
    }
    for (size_t i = end; i > 0 && r.publications.size() < limit; --i) {
      r.publications.push_back(items[i - 1]);
    }
  }
  return r;
}

std::shared_ptr<const Publication> MemoryStreams::last(const std::string& channel) const {
  auto it = streams_.find(channel);
  if (it == streams_.end() || it->second.items.empty()) {
    return nullptr;
  }
  return it->second.items.back();
}

void MemoryStreams::remove(const std::string& channel) {
  auto it = streams_.find(channel);
  if (it != streams_.end()) {
    it->second.items.clear();
  }
}

void MemoryStreams::expire(TimePoint now) {
  while (!expiry_.empty() && expiry_.top().first <= now) {
    auto [due, channel] = expiry_.top();
    expiry_.pop();
    auto it = streams_.find(channel);
    if (it == streams_.end() || it->second.queued_at != due) {
      continue;  // stale entry
    }
    Stream& s = it->second;
    s.queued_at = TimePoint{};
    if (s.meta_expire_at != TimePoint{} && s.meta_expire_at <= now) {
      // Meta lost: the next access creates a new epoch and offsets restart.
      streams_.erase(it);
      continue;
    }
    if (!s.items.empty() && s.items_expire_at <= now) {
      s.items.clear();
    }
    schedule(channel, s);
  }
}

void MemoryPresence::add(const std::string& channel, const std::string& client_id,
                         ClientInfo info) {
  channels_[channel][client_id] = std::move(info);
}

void MemoryPresence::remove(const std::string& channel, const std::string& client_id) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return;
  }
  it->second.erase(client_id);
  if (it->second.empty()) {
    channels_.erase(it);
  }
}

std::vector<std::pair<std::string, ClientInfo>> MemoryPresence::get(
    const std::string& channel) const {
  std::vector<std::pair<std::string, ClientInfo>> out;
  auto it = channels_.find(channel);
  if (it != channels_.end()) {
    out.assign(it->second.begin(), it->second.end());
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  return out;
}

PresenceStats MemoryPresence::stats(const std::string& channel) const {
  PresenceStats st;
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return st;
  }
  std::unordered_set<std::string_view> users;
  for (const auto& [client, info] : it->second) {
    users.insert(info.user);
  }
  st.num_clients = static_cast<uint32_t>(it->second.size());
  st.num_users = static_cast<uint32_t>(users.size());
  return st;
}

namespace {
std::string idem_key(const std::string& channel, const std::string& key) {
  std::string k;
  k.reserve(channel.size() + key.size() + 1);
  k.append(channel);
  k += '\0';
  k.append(key);
  return k;
}
}  // namespace

const StreamPosition* IdempotencyCache::find(const std::string& channel, const std::string& key,
                                             TimePoint now) {
  expire(now);
  auto it = entries_.find(idem_key(channel, key));
  return it == entries_.end() ? nullptr : &it->second.first;
}

void IdempotencyCache::put(const std::string& channel, const std::string& key, StreamPosition sp,
                           TimePoint now) {
  expire(now);
  auto k = idem_key(channel, key);
  entries_[k] = {std::move(sp), now + kTtl};
  order_.emplace_back(now + kTtl, std::move(k));
}

void IdempotencyCache::expire(TimePoint now) {
  while (!order_.empty() && order_.front().first <= now) {
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.second <= now) {
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace gyre::engine
