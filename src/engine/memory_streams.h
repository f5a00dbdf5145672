#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"

// History streams of the memory engine for the channels homed on one shard
// (client-protocol.md §5.1, reference.md §6.1, §7.1). Shard-local: not thread-safe.
namespace gyre::engine {

using TimePoint = std::chrono::steady_clock::time_point;

class MemoryStreams {
 public:
  // Appends `pub` (offset assigned here) and trims by size. Extends the item TTL and the
  // meta TTL. Returns the publication as stored.
  std::shared_ptr<const Publication> add(const std::string& channel, Publication pub,
                                         const HistoryOptions& opts, TimePoint now);
  HistoryResult get(const std::string& channel, const HistoryFilter& filter, Duration meta_ttl,
                    TimePoint now);
  // Top position; creates the stream when missing.
  StreamPosition top(const std::string& channel, Duration meta_ttl, TimePoint now);
  // The latest retained publication, or null.
  std::shared_ptr<const Publication> last(const std::string& channel) const;
  void remove(const std::string& channel);
  // Drops expired items and streams whose meta expired. Cheap when nothing is due.
  void expire(TimePoint now);

  size_t size() const { return streams_.size(); }

 private:
  struct Stream {
    std::deque<std::shared_ptr<const Publication>> items;
    uint64_t top = 0;
    std::string epoch;
    TimePoint items_expire_at{};
    TimePoint meta_expire_at{};
    TimePoint queued_at{};  // time of its earliest live entry in expiry_ ({} = none)
  };
  Stream& ensure(const std::string& channel, Duration meta_ttl, TimePoint now);
  void schedule(const std::string& channel, Stream& s);

  std::unordered_map<std::string, Stream> streams_;
  using Due = std::pair<TimePoint, std::string>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> expiry_;
};

// Presence of the channels homed on one shard. Shard-local.
class MemoryPresence {
 public:
  void add(const std::string& channel, const std::string& client_id, ClientInfo info);
  void remove(const std::string& channel, const std::string& client_id);
  std::vector<std::pair<std::string, ClientInfo>> get(const std::string& channel) const;
  PresenceStats stats(const std::string& channel) const;

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, ClientInfo>> channels_;
};

// Idempotency results for 300 s per (channel, key). Shard-local.
class IdempotencyCache {
 public:
  static constexpr Duration kTtl{300000};
  const StreamPosition* find(const std::string& channel, const std::string& key, TimePoint now);
  void put(const std::string& channel, const std::string& key, StreamPosition sp, TimePoint now);

 private:
  void expire(TimePoint now);
  std::unordered_map<std::string, std::pair<StreamPosition, TimePoint>> entries_;
  std::deque<std::pair<TimePoint, std::string>> order_;  // constant TTL: FIFO expiry
};

}  // namespace gyre::engine
