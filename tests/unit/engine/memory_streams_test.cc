#include "engine/memory_streams.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

// Memory engine history streams, presence and idempotency (client-protocol.md §5.1,
// reference.md §6.1). Time is simulated through explicit TimePoint arguments.
namespace gyre::engine {
namespace {

using std::chrono::seconds;

class MemoryStreamsTest : public ::testing::Test {
 protected:
  MemoryStreams streams;
  TimePoint t0 = TimePoint{} + std::chrono::hours(1000);
  HistoryOptions opts{.size = 100, .ttl = seconds(300), .meta_ttl = seconds(3600)};
  Duration meta = seconds(3600);

  std::shared_ptr<const Publication> add(const std::string& ch, std::string data,
                                         TimePoint now) {
    Publication p;
    p.data = std::move(data);
    return streams.add(ch, std::move(p), opts, now);
  }
  void add_n(const std::string& ch, int n, TimePoint now) {
    for (int i = 1; i <= n; ++i) {
      add(ch, std::to_string(i), now);
    }
  }
  HistoryResult get(const std::string& ch, HistoryFilter f, TimePoint now) {
    return streams.get(ch, f, meta, now);
  }
  HistoryResult get(const std::string& ch, HistoryFilter f) { return get(ch, f, t0); }
  static std::vector<uint64_t> offsets(const HistoryResult& r) {
    std::vector<uint64_t> out;
    for (const auto& p : r.publications) {
      out.push_back(p->offset);
    }
    return out;
  }
  static bool all_letters(const std::string& s) {
    for (char c : s) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
        return false;
      }
    }
    return true;
  }
  static HistoryFilter all() { return HistoryFilter{.since = std::nullopt, .limit = -1}; }
  static HistoryFilter since(uint64_t offset, std::string epoch, int32_t limit = -1,
                             bool reverse = false) {
    return HistoryFilter{.since = StreamPosition{offset, std::move(epoch)},
                         .limit = limit,
                         .reverse = reverse};
  }
};

TEST_F(MemoryStreamsTest, OffsetsStartAtOneAndIncrease) {
  auto p1 = add("c", "{\"a\":1}", t0);
  auto p2 = add("c", "{\"a\":2}", t0);
  auto p3 = add("c", "{\"a\":3}", t0);
  EXPECT_EQ(p1->offset, 1u);
  EXPECT_EQ(p2->offset, 2u);
  EXPECT_EQ(p3->offset, 3u);
  EXPECT_EQ(p1->data, "{\"a\":1}");
}

TEST_F(MemoryStreamsTest, EpochIsFourLettersAndStable) {
  auto p1 = add("c", "1", t0);
  auto p2 = add("c", "2", t0 + seconds(1));
  EXPECT_EQ(p1->epoch.size(), 4u);
  EXPECT_TRUE(all_letters(p1->epoch)) << p1->epoch;
  EXPECT_EQ(p2->epoch, p1->epoch);
  EXPECT_EQ(streams.top("c", meta, t0).epoch, p1->epoch);
}

TEST_F(MemoryStreamsTest, TopOfMissingChannelCreatesStreamAtOffsetZero) {
  EXPECT_EQ(streams.size(), 0u);
  StreamPosition top = streams.top("new", meta, t0);
  EXPECT_EQ(top.offset, 0u);
  EXPECT_EQ(top.epoch.size(), 4u);
  EXPECT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams.top("new", meta, t0).epoch, top.epoch);
  // The first publication continues in the epoch created by the read.
  EXPECT_EQ(add("new", "1", t0)->epoch, top.epoch);
}

TEST_F(MemoryStreamsTest, ChannelsHaveIndependentStreams) {
  add_n("a", 3, t0);
  auto b1 = add("b", "x", t0);
  EXPECT_EQ(b1->offset, 1u);
  EXPECT_EQ(streams.top("a", meta, t0).offset, 3u);
  EXPECT_EQ(streams.size(), 2u);
}

TEST_F(MemoryStreamsTest, SizeTrimmingDropsOldestAndKeepsTop) {
  opts.size = 3;
  add_n("c", 5, t0);
  HistoryResult r = get("c", all());
  EXPECT_EQ(offsets(r), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(r.publications[0]->data, "3");
  EXPECT_EQ(r.top.offset, 5u);
}

TEST_F(MemoryStreamsTest, LimitZeroReturnsNoPublicationsButTop) {
  add_n("c", 4, t0);
  std::string epoch = streams.top("c", meta, t0).epoch;
  HistoryResult r = get("c", HistoryFilter{});
  EXPECT_TRUE(r.publications.empty());
  EXPECT_EQ(r.top, (StreamPosition{4, epoch}));
  EXPECT_FALSE(r.epoch_mismatch);
}

TEST_F(MemoryStreamsTest, LimitMinusOneReturnsAllOldestFirst) {
  add_n("c", 4, t0);
  EXPECT_EQ(offsets(get("c", all())), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST_F(MemoryStreamsTest, PositiveLimitForwardReturnsOldest) {
  add_n("c", 5, t0);
  EXPECT_EQ(offsets(get("c", HistoryFilter{.limit = 2})), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(offsets(get("c", HistoryFilter{.limit = 10})), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(MemoryStreamsTest, ReverseWithoutSinceReturnsNewestFirst) {
  add_n("c", 5, t0);
  EXPECT_EQ(offsets(get("c", HistoryFilter{.limit = 2, .reverse = true})),
            (std::vector<uint64_t>{5, 4}));
  EXPECT_EQ(offsets(get("c", HistoryFilter{.limit = -1, .reverse = true})),
            (std::vector<uint64_t>{5, 4, 3, 2, 1}));
}

TEST_F(MemoryStreamsTest, SinceForwardReturnsOffsetsAboveSince) {
  add_n("c", 5, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  EXPECT_EQ(offsets(get("c", since(2, e))), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(offsets(get("c", since(2, e, 1))), (std::vector<uint64_t>{3}));
  EXPECT_EQ(offsets(get("c", since(0, e))), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  HistoryResult at_top = get("c", since(5, e));
  EXPECT_TRUE(at_top.publications.empty());
  EXPECT_EQ(at_top.top.offset, 5u);
  EXPECT_TRUE(get("c", since(9, e)).publications.empty());
}

TEST_F(MemoryStreamsTest, SinceWithEmptyEpochIsNotAMismatch) {
  add_n("c", 3, t0);
  HistoryResult r = get("c", since(1, ""));
  EXPECT_FALSE(r.epoch_mismatch);
  EXPECT_EQ(offsets(r), (std::vector<uint64_t>{2, 3}));
}

TEST_F(MemoryStreamsTest, SinceReverseReturnsOffsetsBelowSinceNewestFirst) {
  add_n("c", 5, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  EXPECT_EQ(offsets(get("c", since(4, e, -1, true))), (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_EQ(offsets(get("c", since(4, e, 2, true))), (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(offsets(get("c", since(9, e, -1, true))), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  EXPECT_TRUE(get("c", since(1, e, -1, true)).publications.empty());
}

TEST_F(MemoryStreamsTest, SinceOlderThanRetainedStartsFromOldest) {
  opts.size = 3;
  add_n("c", 6, t0);  // retained 4, 5, 6
  std::string e = streams.top("c", meta, t0).epoch;
  EXPECT_EQ(offsets(get("c", since(1, e))), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(offsets(get("c", since(3, e))), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(offsets(get("c", since(4, e))), (std::vector<uint64_t>{5, 6}));
  EXPECT_TRUE(get("c", since(4, e, -1, true)).publications.empty());
  EXPECT_EQ(offsets(get("c", since(6, e, -1, true))), (std::vector<uint64_t>{5, 4}));
}

TEST_F(MemoryStreamsTest, EpochMismatchSetsFlagAndReturnsOnlyTop) {
  add_n("c", 3, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  std::string other = e == "zzzz" ? "yyyy" : "zzzz";
  HistoryResult r = get("c", since(1, other));
  EXPECT_TRUE(r.epoch_mismatch);
  EXPECT_TRUE(r.publications.empty());
  EXPECT_EQ(r.top, (StreamPosition{3, e}));
  EXPECT_FALSE(get("c", since(1, e)).epoch_mismatch);
}

TEST_F(MemoryStreamsTest, RemoveKeepsTopAndEpoch) {
  add_n("c", 3, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  streams.remove("c");
  HistoryResult r = get("c", all());
  EXPECT_TRUE(r.publications.empty());
  EXPECT_EQ(r.top, (StreamPosition{3, e}));
  auto next = add("c", "4", t0);
  EXPECT_EQ(next->offset, 4u);
  EXPECT_EQ(next->epoch, e);
}

TEST_F(MemoryStreamsTest, RemoveOfUnknownChannelCreatesNothing) {
  streams.remove("nope");
  EXPECT_EQ(streams.size(), 0u);
}

TEST_F(MemoryStreamsTest, ExpireClearsItemsAfterHistoryTtlButKeepsMeta) {
  opts.ttl = seconds(10);
  add_n("c", 2, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  streams.expire(t0 + seconds(9));
  EXPECT_EQ(offsets(get("c", all(), t0 + seconds(9))), (std::vector<uint64_t>{1, 2}));
  streams.expire(t0 + seconds(10));
  HistoryResult r = get("c", all(), t0 + seconds(10));
  EXPECT_TRUE(r.publications.empty());
  EXPECT_EQ(r.top, (StreamPosition{2, e}));
  EXPECT_EQ(add("c", "3", t0 + seconds(11))->offset, 3u);
}

TEST_F(MemoryStreamsTest, NewPublicationExtendsItemTtlOfWholeStream) {
  opts.ttl = seconds(10);
  add("c", "1", t0);
  add("c", "2", t0 + seconds(5));
  streams.expire(t0 + seconds(12));
  EXPECT_EQ(offsets(get("c", all(), t0 + seconds(12))), (std::vector<uint64_t>{1, 2}));
  streams.expire(t0 + seconds(15));
  EXPECT_TRUE(get("c", all(), t0 + seconds(15)).publications.empty());
}

TEST_F(MemoryStreamsTest, ItemsExpireAgainAfterRepublishing) {
  opts.ttl = seconds(10);
  add("c", "1", t0);
  streams.expire(t0 + seconds(10));
  add("c", "2", t0 + seconds(20));
  streams.expire(t0 + seconds(29));
  EXPECT_EQ(offsets(get("c", all(), t0 + seconds(29))), (std::vector<uint64_t>{2}));
  streams.expire(t0 + seconds(30));
  EXPECT_TRUE(get("c", all(), t0 + seconds(30)).publications.empty());
}

TEST_F(MemoryStreamsTest, MetaExpiryErasesStreamSoEpochChangesAndOffsetsRestart) {
  opts.ttl = seconds(10);
  opts.meta_ttl = seconds(100);
  meta = seconds(100);
  add_n("c", 3, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  streams.expire(t0 + seconds(99));
  EXPECT_EQ(streams.size(), 1u);
  streams.expire(t0 + seconds(100));
  EXPECT_EQ(streams.size(), 0u);
  StreamPosition fresh = streams.top("c", meta, t0 + seconds(101));
  EXPECT_EQ(fresh.offset, 0u);
  EXPECT_EQ(fresh.epoch.size(), 4u);
  EXPECT_NE(fresh.epoch, e);  // 1 in 52^4 chance of a false failure
  auto p = add("c", "again", t0 + seconds(101));
  EXPECT_EQ(p->offset, 1u);
  EXPECT_EQ(p->epoch, fresh.epoch);
}

TEST_F(MemoryStreamsTest, ReadsExtendMetaTtl) {
  opts.ttl = seconds(10);
  opts.meta_ttl = seconds(100);
  meta = seconds(100);
  add("c", "1", t0);
  streams.top("c", meta, t0 + seconds(50));
  streams.expire(t0 + seconds(100));
  EXPECT_EQ(streams.size(), 1u);
  get("c", HistoryFilter{}, t0 + seconds(120));
  streams.expire(t0 + seconds(150));
  EXPECT_EQ(streams.size(), 1u);
  streams.expire(t0 + seconds(220));
  EXPECT_EQ(streams.size(), 0u);
}

TEST_F(MemoryStreamsTest, ZeroMetaTtlNeverErasesStream) {
  opts.ttl = seconds(10);
  opts.meta_ttl = Duration{0};
  meta = Duration{0};
  add_n("c", 2, t0);
  std::string e = streams.top("c", meta, t0).epoch;
  streams.expire(t0 + std::chrono::hours(24 * 365));
  EXPECT_EQ(streams.size(), 1u);
  HistoryResult r = get("c", all(), t0 + std::chrono::hours(24 * 365));
  EXPECT_TRUE(r.publications.empty());
  EXPECT_EQ(r.top, (StreamPosition{2, e}));
}

TEST_F(MemoryStreamsTest, ExpireBeforeAnythingIsDueChangesNothing) {
  add_n("c", 2, t0);
  streams.expire(t0);
  streams.expire(t0 + seconds(1));
  EXPECT_EQ(offsets(get("c", all())), (std::vector<uint64_t>{1, 2}));
}

class MemoryPresenceTest : public ::testing::Test {
 protected:
  MemoryPresence presence;
  static ClientInfo info(std::string user, std::string client) {
    ClientInfo i;
    i.user = std::move(user);
    i.client = std::move(client);
    return i;
  }
};

TEST_F(MemoryPresenceTest, GetReturnsClientsSortedById) {
  presence.add("c", "b-client", info("7", "b-client"));
  presence.add("c", "a-client", info("42", "a-client"));
  auto got = presence.get("c");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, "a-client");
  EXPECT_EQ(got[0].second.user, "42");
  EXPECT_EQ(got[1].first, "b-client");
  EXPECT_EQ(got[1].second.user, "7");
}

TEST_F(MemoryPresenceTest, AddSameClientReplacesInfo) {
  presence.add("c", "x", info("1", "x"));
  ClientInfo updated = info("1", "x");
  updated.conn_info = "{\"v\":2}";
  presence.add("c", "x", updated);
  auto got = presence.get("c");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second.conn_info, "{\"v\":2}");
}

TEST_F(MemoryPresenceTest, RemoveDropsClientAndEmptyChannel) {
  presence.add("c", "x", info("1", "x"));
  presence.add("c", "y", info("2", "y"));
  presence.remove("c", "x");
  ASSERT_EQ(presence.get("c").size(), 1u);
  EXPECT_EQ(presence.get("c")[0].first, "y");
  presence.remove("c", "y");
  EXPECT_TRUE(presence.get("c").empty());
  EXPECT_EQ(presence.stats("c").num_clients, 0u);
  presence.remove("c", "y");       // already gone
  presence.remove("other", "y");   // unknown channel
}

TEST_F(MemoryPresenceTest, StatsCountsDistinctUsersIncludingAnonymousAsOne) {
  presence.add("c", "a", info("", "a"));
  presence.add("c", "b", info("", "b"));
  presence.add("c", "c", info("42", "c"));
  presence.add("c", "d", info("42", "d"));
  presence.add("c", "e", info("7", "e"));
  PresenceStats st = presence.stats("c");
  EXPECT_EQ(st.num_clients, 5u);
  EXPECT_EQ(st.num_users, 3u);
}

TEST_F(MemoryPresenceTest, StatsOfUnknownChannelAreZero) {
  PresenceStats st = presence.stats("none");
  EXPECT_EQ(st.num_clients, 0u);
  EXPECT_EQ(st.num_users, 0u);
}

TEST_F(MemoryPresenceTest, ChannelsAreIndependent) {
  presence.add("a", "x", info("1", "x"));
  presence.add("b", "y", info("2", "y"));
  EXPECT_EQ(presence.get("a").size(), 1u);
  EXPECT_EQ(presence.get("a")[0].first, "x");
  EXPECT_EQ(presence.stats("b").num_clients, 1u);
}

class IdempotencyCacheTest : public ::testing::Test {
 protected:
  IdempotencyCache cache;
  TimePoint t0 = TimePoint{} + std::chrono::hours(1000);
};

TEST_F(IdempotencyCacheTest, TtlIs300Seconds) {
  EXPECT_EQ(IdempotencyCache::kTtl, std::chrono::seconds(300));
}

TEST_F(IdempotencyCacheTest, FindReturnsStoredPositionWithinTtl) {
  cache.put("c", "k", StreamPosition{7, "abcd"}, t0);
  const StreamPosition* sp = cache.find("c", "k", t0 + seconds(299));
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(*sp, (StreamPosition{7, "abcd"}));
}

TEST_F(IdempotencyCacheTest, EntryExpiresAfter300Seconds) {
  cache.put("c", "k", StreamPosition{7, "abcd"}, t0);
  EXPECT_EQ(cache.find("c", "k", t0 + seconds(300)), nullptr);
}

TEST_F(IdempotencyCacheTest, KeysAreScopedPerChannel) {
  cache.put("c", "k", StreamPosition{1, "e"}, t0);
  EXPECT_EQ(cache.find("d", "k", t0), nullptr);
  EXPECT_EQ(cache.find("c", "other", t0), nullptr);
  // The separator prevents ("a","bc") from colliding with ("ab","c").
  cache.put("a", "bc", StreamPosition{2, "e"}, t0);
  EXPECT_EQ(cache.find("ab", "c", t0), nullptr);
}

TEST_F(IdempotencyCacheTest, RePutRestartsTtl) {
  cache.put("c", "k", StreamPosition{1, "e"}, t0);
  cache.put("c", "k", StreamPosition{2, "e"}, t0 + seconds(200));
  const StreamPosition* sp = cache.find("c", "k", t0 + seconds(350));
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->offset, 2u);
  EXPECT_EQ(cache.find("c", "k", t0 + seconds(500)), nullptr);
}

}  // namespace
}  // namespace gyre::engine
