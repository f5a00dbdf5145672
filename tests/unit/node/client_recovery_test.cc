#include <gtest/gtest.h>

#include "node/client.h"
#include "node/recovery.h"
#include "unit/node/client_harness.h"

// Positioning and recovery at subscribe time (client-protocol.md §5.2, §5.3, §9.2): the pure
// decision of node/recovery.h, then the same through a Client with the memory engine.
namespace gyre::node::testing {
namespace {

std::shared_ptr<const protocol::Publication> pub_at(uint64_t offset, std::string data = "{}") {
  auto p = std::make_shared<protocol::Publication>();
  p->offset = offset;
  p->data = std::move(data);
  return p;
}

engine::HistoryResult history(std::vector<uint64_t> offsets, uint64_t top, std::string epoch,
                              bool mismatch = false) {
  engine::HistoryResult hr;
  for (uint64_t o : offsets) {
    hr.publications.push_back(pub_at(o));
  }
  hr.top = {top, std::move(epoch)};
  hr.epoch_mismatch = mismatch;
  return hr;
}

recovery::Request stream_request(uint64_t offset, std::string epoch, bool reject = false) {
  recovery::Request r;
  r.positioned = true;
  r.recoverable = true;
  r.recover = true;
  r.offset = offset;
  r.epoch = std::move(epoch);
  r.reject_unrecovered = reject;
  return r;
}

std::vector<uint64_t> offsets(const recovery::Decision& d) {
  std::vector<uint64_t> out;
  for (const auto& p : d.publications) {
    out.push_back(p->offset);
  }
  return out;
}

TEST(RecoveryTest, FilterReadsTheTopOnlyWithoutRecovery) {
  recovery::Request r;
  r.positioned = true;
  auto f = recovery::history_filter(r, 300);
  EXPECT_EQ(f.limit, 0);
  EXPECT_FALSE(f.since.has_value());
}

TEST(RecoveryTest, FilterReadsSinceThePositionUpToTheLimit) {
  auto f = recovery::history_filter(stream_request(5, "e"), 300);
  ASSERT_TRUE(f.since.has_value());
  EXPECT_EQ(f.since->offset, 5u);
  EXPECT_EQ(f.since->epoch, "e");
  EXPECT_EQ(f.limit, 300);
  EXPECT_FALSE(f.reverse);
  EXPECT_EQ(recovery::history_filter(stream_request(5, "e"), 0).limit, -1);
}

TEST(RecoveryTest, CacheModeFilterReadsTheLatestOnly) {
  auto r = stream_request(5, "e");
  r.cache_mode = true;
  auto f = recovery::history_filter(r, 300);
  EXPECT_EQ(f.limit, 1);
  EXPECT_TRUE(f.reverse);
  EXPECT_FALSE(f.since.has_value());
}

struct StreamCase {
  const char* name;
  std::vector<uint64_t> read;
  uint64_t top;
  bool mismatch;
  bool recovered;
  uint64_t reply_offset;
};

TEST(RecoveryTest, StreamModeTable) {
  const StreamCase cases[] = {
      {"continues to the top", {4, 5, 6}, 6, false, true, 3},
      {"nothing missed", {}, 3, false, true, 3},
      {"gap trimmed by retention", {5, 6}, 6, false, false, 6},
      {"cut short by the limit", {4, 5}, 6, false, false, 6},
      {"top moved without publications", {}, 6, false, false, 6},
      {"epoch changed", {4, 5, 6}, 6, true, false, 6},
  };
  for (const auto& c : cases) {
    auto d = recovery::decide(history(c.read, c.top, "e", c.mismatch), stream_request(3, "e"));
    EXPECT_EQ(d.recovered, c.recovered) << c.name;
    EXPECT_EQ(d.offset, c.reply_offset) << c.name;
    EXPECT_EQ(offsets(d), c.recovered ? c.read : std::vector<uint64_t>{}) << c.name;
    EXPECT_FALSE(d.unrecoverable) << c.name;
  }
}

TEST(RecoveryTest, UnrecoveredWithRejectFlagIsUnrecoverable) {
  auto d = recovery::decide(history({5, 6}, 6, "e"), stream_request(3, "e", true));
  EXPECT_FALSE(d.recovered);
  EXPECT_TRUE(d.unrecoverable);
  auto ok = recovery::decide(history({4}, 4, "e"), stream_request(3, "e", true));
  EXPECT_TRUE(ok.recovered);
  EXPECT_FALSE(ok.unrecoverable);
}

TEST(RecoveryTest, CacheModeTable) {
  auto req = [](uint64_t offset, std::string epoch) {
    auto r = stream_request(offset, std::move(epoch));
    r.cache_mode = true;
    return r;
  };
  // Latest is the top and the client is behind: recovered with the latest only.
  auto d = recovery::decide(history({9}, 9, "e"), req(3, "e"));
  EXPECT_TRUE(d.recovered);
  EXPECT_EQ(offsets(d), std::vector<uint64_t>{9});
  EXPECT_EQ(d.offset, 3u);
  // The client has the latest already: recovered, nothing sent.
  d = recovery::decide(history({9}, 9, "e"), req(9, "e"));
  EXPECT_TRUE(d.recovered);
  EXPECT_TRUE(d.publications.empty());
  // Nothing retained: recovered only at the same position.
  EXPECT_TRUE(recovery::decide(history({}, 9, "e"), req(9, "e")).recovered);
  EXPECT_FALSE(recovery::decide(history({}, 9, "e"), req(8, "e")).recovered);
  EXPECT_FALSE(recovery::decide(history({}, 9, "e"), req(9, "other")).recovered);
}

TEST(RecoveryTest, NotRecoveringReportsTheTop) {
  recovery::Request r;
  r.positioned = true;
  r.recoverable = true;
  auto d = recovery::decide(history({}, 7, "e"), r);
  EXPECT_FALSE(d.recovered);
  EXPECT_EQ(d.offset, 7u);
}

TEST(RecoveryTest, DeltaChainPatchesEachAgainstThePreviousWhenShorter) {
  std::string base(200, 'a');
  std::string next = base;
  next[100] = 'b';
  std::vector<std::shared_ptr<const protocol::Publication>> pubs = {
      pub_at(1, "\"" + base + "\""), pub_at(2, "\"" + next + "\""), pub_at(3, "\"x\"")};
  auto chain = recovery::delta_chain(pubs, true);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], pubs[0]);  // the first stays full (the same object)
  EXPECT_TRUE(chain[1]->delta);  // a patch, much shorter than 200 bytes
  EXPECT_LT(chain[1]->data.size(), 40u);
  EXPECT_EQ(chain[1]->offset, 2u);
  EXPECT_EQ(chain[2], pubs[2]);  // a patch would not be shorter than "x"
  EXPECT_EQ(pubs[1]->data, "\"" + next + "\"");  // originals untouched
}

// --- through a Client

class ClientRecoveryTest : public ClientTest {
 protected:
  void SetUp() override {
    auto& o = add_namespace(cfg, "r");
    o.allow_subscribe_for_client = true;
    o.history_size = 10;
    o.history_ttl = std::chrono::seconds(300);
    o.force_recovery = true;
    o.allowed_delta_types = {"fossil"};
  }
  std::string subscribe(Conn& c, const std::string& body) {
    send(c, R"({"id":2,"subscribe":{)" + body + "}}");
    return c.one();
  }
};

TEST_F(ClientRecoveryTest, PositionedReplyCarriesTheTop) {
  Conn& c = connected();
  publish("r:x", "1");
  publish("r:x", "2");
  auto t = top("r:x");
  EXPECT_EQ(replace_all(subscribe(c, R"("channel":"r:x")"), t.epoch, "<epoch>"),
            R"({"id":2,"subscribe":{"recoverable":true,"epoch":"<epoch>","offset":2,"positioned":true}})");
}

TEST_F(ClientRecoveryTest, StreamRecoverySendsTheMissedPublications) {
  Conn& c = connected();
  publish("r:x", "1");
  publish("r:x", "2");
  publish("r:x", "3");
  auto t = top("r:x");
  std::string reply =
      subscribe(c, R"("channel":"r:x","recover":true,"offset":1,"epoch":")" + t.epoch + "\"");
  EXPECT_EQ(replace_all(reply, t.epoch, "<epoch>"),
            R"({"id":2,"subscribe":{"recoverable":true,"epoch":"<epoch>","publications":[{"data":2,"offset":2},{"data":3,"offset":3}],"recovered":true,"offset":1,"positioned":true,"was_recovering":true}})");
  // Live publications continue from the top.
  publish("r:x", "4");
  EXPECT_EQ(c.one(), R"({"push":{"channel":"r:x","pub":{"data":4,"offset":4}}})");
}

TEST_F(ClientRecoveryTest, EpochMismatchIsNotRecovered) {
  Conn& c = connected();
  publish("r:x", "1");
  auto t = top("r:x");
  std::string reply = subscribe(c, R"("channel":"r:x","recover":true,"offset":1,"epoch":"old")");
  EXPECT_EQ(replace_all(reply, t.epoch, "<epoch>"),
            R"({"id":2,"subscribe":{"recoverable":true,"epoch":"<epoch>","offset":1,"positioned":true,"was_recovering":true}})");
}

TEST_F(ClientRecoveryTest, UnrecoverableWithRejectFlagReplies112) {
  Conn& c = connected();
  publish("r:x", "1");
  EXPECT_EQ(subscribe(c, R"("channel":"r:x","recover":true,"offset":1,"epoch":"old","flag":2)"),
            R"({"id":2,"error":{"code":112,"message":"unrecoverable position"}})");
  // No subscription was left behind.
  EXPECT_EQ(subscribe(c, R"("channel":"r:x")").find(R"("subscribe":{)"), 8u);
}

TEST_F(ClientRecoveryTest, CacheModeRecoversTheLatestPublication) {
  cfg.namespaces.back().options.force_recovery_mode = "cache";
  Conn& c = connected();
  publish("r:x", "1");
  publish("r:x", "2");
  auto t = top("r:x");
  std::string reply = subscribe(c, R"("channel":"r:x","recover":true,"offset":0,"epoch":")" +
                                       t.epoch + "\"");
  EXPECT_EQ(replace_all(reply, t.epoch, "<epoch>"),
            R"({"id":2,"subscribe":{"recoverable":true,"epoch":"<epoch>","publications":[{"data":2,"offset":2}],"recovered":true,"positioned":true,"was_recovering":true}})");
}

TEST_F(ClientRecoveryTest, DeltaRecoveryChainsPatches) {
  Conn& c = connected();
  std::string big(120, 'a');
  publish("r:x", "\"" + big + "\"");
  std::string changed = big;
  changed[60] = 'b';
  publish("r:x", "\"" + changed + "\"");
  auto t = top("r:x");
  std::string reply = subscribe(c, R"("channel":"r:x","recover":true,"offset":0,"epoch":")" +
                                       t.epoch + R"(","delta":"fossil")");
  // The first recovered publication is full, the second a fossil patch (a JSON string).
  EXPECT_NE(reply.find(R"("publications":[{"data":"\")" + big + R"(\"","offset":1},{"data":")"),
            std::string::npos)
      << reply;
  EXPECT_NE(reply.find(R"(,"offset":2,"delta":true}],"recovered":true)"), std::string::npos)
      << reply;
  EXPECT_NE(reply.find(R"("was_recovering":true,"delta":true})"), std::string::npos) << reply;
}

TEST_F(ClientRecoveryTest, LiveGapUnsubscribesWith2500) {
  Conn& c = connected();
  publish("r:x", "1");
  subscribe(c, R"("channel":"r:x")");
  auto t = top("r:x");
  // A publication two ahead of the position: one was lost (client-protocol.md §5.2 rule 2).
  auto lost = std::make_shared<protocol::Publication>();
  lost->offset = t.offset + 2;
  lost->epoch = t.epoch;
  lost->data = "9";
  node->local().hub.broadcast(hub::make_publication_fanout("r:x", lost, false));
  run();
  EXPECT_EQ(c.one(),
            R"({"push":{"channel":"r:x","unsubscribe":{"code":2500,"reason":"insufficient state"}}})");
  EXPECT_FALSE(c.closed());
}

TEST_F(ClientRecoveryTest, LiveGapOnServerSideSubscriptionDisconnects3010) {
  Conn& c = connected(R"("sub":"42","channels":["r:x"])");
  auto t = top("r:x");
  auto lost = std::make_shared<protocol::Publication>();
  lost->offset = t.offset + 2;
  lost->epoch = t.epoch;
  lost->data = "9";
  node->local().hub.broadcast(hub::make_publication_fanout("r:x", lost, false));
  run();
  EXPECT_EQ(c.closed(), (Disconnect{3010, "insufficient state"}));
}

TEST_F(ClientRecoveryTest, StaleDuplicateIsDropped) {
  Conn& c = connected();
  publish("r:x", "1");
  subscribe(c, R"("channel":"r:x")");
  auto t = top("r:x");
  auto dup = std::make_shared<protocol::Publication>();
  dup->offset = t.offset;
  dup->epoch = t.epoch;
  dup->data = "1";
  node->local().hub.broadcast(hub::make_publication_fanout("r:x", dup, false));
  run();
  EXPECT_TRUE(c.take().empty());
  EXPECT_FALSE(c.closed());
}

}  // namespace
}  // namespace gyre::node::testing
