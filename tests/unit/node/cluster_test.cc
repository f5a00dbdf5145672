#include "node/cluster.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/memory_engine.h"
#include "node/node.h"

// node::Cluster over a fake shared engine: what the node publishes, and how it answers the
// control messages of other nodes (Gyre or Centrifugo), on one shard polled by this thread.
namespace gyre::node {
namespace {

// The memory engine plus a control channel that records what is published.
class ControlEngine final : public engine::Engine {
 public:
  explicit ControlEngine(ShardSet& shards) : memory_(shards) {}
  void set_event_handler(engine::EventHandler* h) override { memory_.set_event_handler(h); }
  void publish(std::string ch, protocol::Publication pub, engine::PublishOptions o,
               engine::Callback<protocol::StreamPosition> done) override {
    memory_.publish(std::move(ch), std::move(pub), std::move(o), std::move(done));
  }
  void publish_join(std::string ch, protocol::ClientInfo info) override {
    memory_.publish_join(std::move(ch), std::move(info));
  }
  void publish_leave(std::string ch, protocol::ClientInfo info) override {
    memory_.publish_leave(std::move(ch), std::move(info));
  }
  void history(std::string ch, engine::HistoryFilter f, engine::Duration meta_ttl,
               engine::Callback<engine::HistoryResult> done) override {
    memory_.history(std::move(ch), f, meta_ttl, std::move(done));
  }
  void remove_history(std::string ch, engine::Callback<bool> done) override {
    memory_.remove_history(std::move(ch), std::move(done));
  }
  void add_presence(std::string ch, std::string client, protocol::ClientInfo info,
                    engine::Callback<bool> done) override {
    memory_.add_presence(std::move(ch), std::move(client), std::move(info), std::move(done));
  }
  void remove_presence(std::string ch, std::string client, std::string user,
                       engine::Callback<bool> done) override {
    memory_.remove_presence(std::move(ch), std::move(client), std::move(user), std::move(done));
  }
  void presence(std::string ch,
                engine::Callback<std::vector<std::pair<std::string, protocol::ClientInfo>>> done)
      override {
    memory_.presence(std::move(ch), std::move(done));
  }
  void presence_stats(std::string ch, engine::Callback<engine::PresenceStats> done) override {
    memory_.presence_stats(std::move(ch), std::move(done));
  }

  bool supports_control() const override { return true; }
  void enable_control(std::string node_id) override { enabled_for = std::move(node_id); }
  void publish_control(std::string data, std::string to_node,
                       engine::Callback<bool> done) override {
    sent.emplace_back(std::move(data), std::move(to_node));
    if (done) {
      Shard::current()->post([done = std::move(done), ok = !fail_publish] {
        if (ok) {
          done(true);
        } else {
          done(std::unexpected(errors::internal()));
        }
      });
    }
  }
  std::string enabled_for;
  bool fail_publish = false;
  std::vector<std::pair<std::string, std::string>> sent;  // (Command bytes, to node)

 private:
  engine::MemoryEngine memory_;
};

class ClusterTest : public ::testing::Test {
 protected:
  ClusterTest() : shards(1), engine(shards) {
    auto cfg = std::make_shared<config::Config>();
    cfg->name = "me";
    node = std::make_unique<Node>(shards, engine, cfg);
    Shard::set_current(&shards.at(0));
  }
  ~ClusterTest() override { Shard::set_current(nullptr); }

  void poll() {
    while (shards.at(0).io().poll() > 0) {
    }
    shards.at(0).io().restart();
  }
  control::Command last(const std::string& to = "") {
    for (auto it = engine.sent.rbegin(); it != engine.sent.rend(); ++it) {
      if (it->second == to) {
        auto cmd = control::decode(it->first);
        EXPECT_TRUE(cmd);
        return cmd.value_or(control::Command{});
      }
    }
    ADD_FAILURE() << "nothing sent to '" << to << "'";
    return {};
  }
  void receive(control::Command cmd) { node->handle_control(control::encode(cmd)); }
  control::Command peer_info(const std::string& uid, uint32_t clients) {
    control::Command c;
    c.uid = uid;
    auto& n = c.node.emplace();
    n.uid = uid;
    n.name = uid + "-name";
    n.version = "5.4.9";
    n.num_clients = clients;
    return c;
  }
  std::vector<control::NodeInfo> peers() {
    std::optional<std::vector<control::NodeInfo>> out;
    node->cluster()->peers([&out](std::vector<control::NodeInfo> p) { out = std::move(p); });
    poll();
    EXPECT_TRUE(out);
    return out.value_or(std::vector<control::NodeInfo>{});
  }

  ShardSet shards;
  ControlEngine engine;
  std::unique_ptr<Node> node;
};

TEST_F(ClusterTest, StartPublishesThisNodesInfoToEveryNode) {
  ASSERT_NE(node->cluster(), nullptr);
  EXPECT_EQ(engine.enabled_for, node->id());
  node->start();
  poll();
  auto cmd = last("");
  EXPECT_EQ(cmd.uid, node->id());
  ASSERT_TRUE(cmd.node);
  EXPECT_EQ(cmd.node->uid, node->id());
  EXPECT_EQ(cmd.node->name, "me");
  EXPECT_EQ(cmd.node->version, Node::kVersion);
  EXPECT_EQ(cmd.node->num_clients, 0u);
}

TEST_F(ClusterTest, TheStartMetricsSnapshotGoesOnceWithTheNextBroadcastInfo) {
  node->start();
  poll();
  ASSERT_TRUE(last("").node);
  EXPECT_FALSE(last("").node->metrics);  // the snapshot is taken after the first info
  receive(peer_info("p1", 3));
  poll();
  ASSERT_TRUE(last("p1").node);
  EXPECT_FALSE(last("p1").node->metrics);  // a newcomer's copy does not use it up
  // The next broadcast (3 s cadence) carries it.
  std::optional<control::Metrics> sent;
  const size_t before = engine.sent.size();
  for (int i = 0; i < 100 && !sent; ++i) {
    shards.at(0).io().run_one_for(std::chrono::milliseconds(100));
    for (size_t k = before; k < engine.sent.size(); ++k) {
      auto cmd = control::decode(engine.sent[k].first);
      if (cmd && cmd->node && engine.sent[k].second.empty()) {
        sent = cmd->node->metrics;
        break;
      }
    }
  }
  shards.at(0).io().restart();
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->interval, 60);  // Centrifugo's default
  EXPECT_EQ(sent->items.at("centrifugo.node.num_nodes"), 1);  // taken at start, before p1
  EXPECT_EQ(sent->items.at("centrifugo.node.num_clients"), 0);
  EXPECT_EQ(sent->items.at("centrifugo.node.build.version." + std::string(Node::kVersion)), 1);
  // API info shows what this node sent last.
  std::optional<std::optional<control::Metrics>> own;
  node->cluster()->own_metrics([&own](std::optional<control::Metrics> m) { own = std::move(m); });
  poll();
  ASSERT_TRUE(own && *own);
  EXPECT_EQ((*own)->items, sent->items);
}

TEST_F(ClusterTest, ANewPeerIsListedAndGetsThisNodesInfoAtOnce) {
  receive(peer_info("p1", 3));
  poll();
  auto reply = last("p1");
  ASSERT_TRUE(reply.node);
  EXPECT_EQ(reply.node->uid, node->id());
  const size_t sent = engine.sent.size();
  receive(peer_info("p1", 4));  // known now: no second reply
  poll();
  EXPECT_EQ(engine.sent.size(), sent);
  auto list = peers();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].uid, "p1");
  EXPECT_EQ(list[0].name, "p1-name");
  EXPECT_EQ(list[0].num_clients, 4u);
}

TEST_F(ClusterTest, OwnMessagesAreIgnoredAndShutdownForgetsAPeer) {
  receive(peer_info(node->id(), 1));
  poll();
  EXPECT_TRUE(peers().empty());
  receive(peer_info("p1", 1));
  receive(peer_info("p2", 1));
  poll();
  EXPECT_EQ(peers().size(), 2u);
  control::Command bye;
  bye.uid = "p1";
  bye.shutdown = true;
  receive(bye);
  auto list = peers();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].uid, "p2");
}

TEST_F(ClusterTest, MetricsAreKeptBetweenNodeInfosWithoutThem) {
  auto with = peer_info("cf", 1);
  with.node->metrics = control::Metrics{60, {{"m", 2.5}}};
  receive(with);
  receive(peer_info("cf", 2));
  auto list = peers();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].num_clients, 2u);
  ASSERT_TRUE(list[0].metrics);
  EXPECT_EQ(list[0].metrics->items.at("m"), 2.5);
}

TEST_F(ClusterTest, SurveysAreAnsweredOnTheAskersChannel) {
  control::Command ask;
  ask.uid = "cf";
  ask.survey_request = control::SurveyRequest{7, "channels", control::encode_channels_request("")};
  receive(ask);
  poll();
  auto answer = last("cf");
  ASSERT_TRUE(answer.survey_response);
  EXPECT_EQ(answer.survey_response->id, 7u);
  EXPECT_EQ(answer.survey_response->code, 0u);
  auto counts = control::decode_channels_result(answer.survey_response->data);
  ASSERT_TRUE(counts);
  EXPECT_TRUE(counts->empty());

  ask.survey_request = control::SurveyRequest{8, "nope", ""};
  receive(ask);
  poll();
  EXPECT_EQ(last("cf").survey_response->code, control::kSurveyMethodNotFound);

  ask.survey_request = control::SurveyRequest{9, "channels", control::encode_channels_request("[")};
  receive(ask);
  poll();
  EXPECT_EQ(last("cf").survey_response->code, control::kSurveyInvalidRequest);

  // Emulation for a session that is not here (no handler installed: no sessions).
  ask.survey_request = control::SurveyRequest{
      10, "centrifuge_emulation", control::encode_emulation_request(node->id(), "s", "x")};
  receive(ask);
  poll();
  EXPECT_EQ(last("cf").survey_response->code, control::kEmulationNoSession);
}

TEST_F(ClusterTest, ASurveyCompletesWithOneAnswerPerPeer) {
  receive(peer_info("p1", 0));
  receive(peer_info("p2", 0));
  poll();
  std::optional<OpResult<Cluster::SurveyResults>> got;
  node->cluster()->survey("channels", "", "",
                          [&got](OpResult<Cluster::SurveyResults> r) { got = std::move(r); });
  poll();
  auto req = last("");
  ASSERT_TRUE(req.survey_request);
  EXPECT_EQ(req.survey_request->op, "channels");
  for (std::string uid : {"p1", "p2"}) {
    EXPECT_FALSE(got);
    control::Command resp;
    resp.uid = uid;
    resp.survey_response = control::SurveyResponse{req.survey_request->id, 0, uid};
    receive(resp);
    poll();
  }
  ASSERT_TRUE(got && *got);
  ASSERT_EQ((*got)->size(), 2u);
  EXPECT_EQ((*got)->at("p2").data, "p2");
}

TEST_F(ClusterTest, ASurveyFailsWithError100WhenTheBrokerRefusesIt) {
  receive(peer_info("p1", 0));
  poll();
  engine.fail_publish = true;
  std::optional<OpResult<Cluster::SurveyResults>> got;
  node->cluster()->survey("channels", "", "",
                          [&got](OpResult<Cluster::SurveyResults> r) { got = std::move(r); });
  poll();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, 100u);
}

TEST_F(ClusterTest, EmulationForAnUnknownNodeIs404) {
  std::optional<int> status;
  node->cluster()->forward_emulation("ghost", "s", "d", [&status](int s) { status = s; });
  poll();
  EXPECT_EQ(status, 404);
}

TEST_F(ClusterTest, UndecodableControlMessagesAreDropped) {
  node->handle_control(std::string("\x0a\x09truncated", 11));
  node->handle_control("");
  poll();
  EXPECT_TRUE(peers().empty());
  EXPECT_TRUE(engine.sent.empty());
}

}  // namespace
}  // namespace gyre::node
