#include "metrics/node_info.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace gyre::metrics {
namespace {

TEST(NodeInfoPrefixTest, CutsAtTheFirstTwoUnderscores) {
  EXPECT_EQ(node_info_prefix("centrifugo_node_num_clients"), "centrifugo.node.num_clients");
  EXPECT_EQ(node_info_prefix("process_cpu_seconds_total"), "process.cpu.seconds_total");
  EXPECT_EQ(node_info_prefix("gyre_shards"), "gyre.shards");
  EXPECT_EQ(node_info_prefix("a__b_c"), "a.b_c");
}

class NodeInfoAggregatorTest : public ::testing::Test {
 protected:
  NodeInfoAggregatorTest() {
    counter_ = reg_.add({"centrifugo_node_messages_sent_count", "c", Kind::kCounter, {"type"}, {}});
    gauge_ = reg_.add({"centrifugo_node_num_clients", "g", Kind::kGauge, {}, {}});
    summary_ = reg_.add({"centrifugo_client_command_duration_seconds", "s", Kind::kSummary,
                         {"method"}, {}});
    histogram_ = reg_.add({"centrifugo_api_command_duration_seconds_histogram", "h",
                           Kind::kHistogram, {"method", "protocol"}, {0.1}});
    labels_ = reg_.add({"centrifugo_transport_connect_count", "t", Kind::kCounter,
                        {"transport", "user_agent"}, {}});
  }
  Snapshot snapshot(uint64_t sent, double clients, std::initializer_list<double> durations) {
    ShardMetrics m(reg_);
    m.inc(counter_, {"publication"}, sent);
    m.set(gauge_, {}, clients);
    for (double d : durations) {
      m.observe(summary_, {"publish"}, d);
    }
    m.observe(histogram_, {"publish", "http"}, 0.05);
    m.inc(labels_, {"websocket", ""}, 2);
    return m.snapshot();
  }

  Registry reg_;
  FamilyId counter_ = 0, gauge_ = 0, summary_ = 0, histogram_ = 0, labels_ = 0;
};

TEST_F(NodeInfoAggregatorTest, ExportHasWholeValuesAndCentrifugoKeys) {
  NodeInfoAggregator agg;
  auto items = agg.flatten(reg_, snapshot(5, 3, {0.25, 0.5}), false);
  std::map<std::string, double> want{
      {"centrifugo.node.messages_sent_count.type.publication", 5},
      {"centrifugo.node.num_clients", 3},
      {"centrifugo.client.command_duration_seconds.sum.method.publish", 0.75},
      {"centrifugo.client.command_duration_seconds.count.method.publish", 2},
      {"centrifugo.client.command_duration_seconds.quantile.50.method.publish", 0.25},
      {"centrifugo.client.command_duration_seconds.quantile.99.method.publish", 0.5},
      {"centrifugo.client.command_duration_seconds.quantile.999.method.publish", 0.5},
      // an empty label value is left out, name and value
      {"centrifugo.transport.connect_count.transport.websocket", 2},
  };
  EXPECT_EQ(items, want);  // histograms add nothing
}

TEST_F(NodeInfoAggregatorTest, PeriodicAggregationsSendChangesOfCounters) {
  NodeInfoAggregator agg;
  // The start export does not count as a previous value (eagle's Export()).
  EXPECT_EQ(agg.flatten(reg_, snapshot(5, 3, {}), false)
                .at("centrifugo.node.messages_sent_count.type.publication"),
            5);
  auto first = agg.flatten(reg_, snapshot(7, 3, {1}), true);
  EXPECT_EQ(first.at("centrifugo.node.messages_sent_count.type.publication"), 7);
  EXPECT_EQ(first.at("centrifugo.client.command_duration_seconds.count.method.publish"), 1);
  auto second = agg.flatten(reg_, snapshot(10, 4, {1, 2}), true);
  EXPECT_EQ(second.at("centrifugo.node.messages_sent_count.type.publication"), 3);
  EXPECT_EQ(second.at("centrifugo.node.num_clients"), 4);  // gauges as they are
  EXPECT_EQ(second.at("centrifugo.client.command_duration_seconds.count.method.publish"), 1);
  EXPECT_EQ(second.at("centrifugo.client.command_duration_seconds.sum.method.publish"), 2);
  EXPECT_EQ(second.at("centrifugo.client.command_duration_seconds.quantile.50.method.publish"),
            1);
}

TEST_F(NodeInfoAggregatorTest, NoQuantilesWithoutObservations) {
  NodeInfoAggregator agg;
  auto items = agg.flatten(reg_, snapshot(0, 0, {}), true);
  EXPECT_EQ(items.count("centrifugo.client.command_duration_seconds.quantile.50.method.publish"),
            0u);
  EXPECT_EQ(items.count("centrifugo.client.command_duration_seconds.count.method.publish"), 0u);
}

}  // namespace
}  // namespace gyre::metrics
