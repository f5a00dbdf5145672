#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/names.h"
#include "metrics/process.h"
#include "metrics/shard_metrics.h"

namespace gyre::metrics {
namespace {

TEST(FormatValueTest, MatchesGoShortestG) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(20000), "20000");
  EXPECT_EQ(format_value(999999), "999999");
  EXPECT_EQ(format_value(1e6), "1e+06");
  EXPECT_EQ(format_value(70922240), "7.092224e+07");
  EXPECT_EQ(format_value(1796626454.4), "1.7966264544e+09");
  EXPECT_EQ(format_value(0.26), "0.26");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(1.8746e-05), "1.8746e-05");
  EXPECT_EQ(format_value(1e-06), "1e-06");
  EXPECT_EQ(format_value(18446744073709551615.0), "1.8446744073709552e+19");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(-2.5), "-2.5");
}

class ExpositionTest : public ::testing::Test {
 protected:
  ExpositionTest() {
    counter_ = reg_.add({"b_total", "Things\\done.\nTwice", Kind::kCounter, {"code", "method"}, {}});
    gauge_ = reg_.add({"a_gauge", "A gauge.", Kind::kGauge, {}, {}});
    hist_ = reg_.add({"c_seconds", "Durations.", Kind::kHistogram, {"type"}, {0.1, 1}});
    summary_ = reg_.add({"d_seconds", "Summary.", Kind::kSummary, {"method"}, {}});
    unused_ = reg_.add({"e_unused", "Never set.", Kind::kCounter, {"x"}, {}});
  }
  Registry reg_;
  FamilyId counter_, gauge_, hist_, summary_, unused_;
};

TEST_F(ExpositionTest, PrintsFamiliesSortedWithEscapedHelpAndLabels) {
  ShardMetrics m(reg_);
  m.inc(counter_, {"101", "connect"});
  m.inc(counter_, {"100", "sub\"scribe"}, 2);
  m.set(gauge_, {}, 1.5);
  EXPECT_EQ(expose(reg_, m.snapshot()),
            "# HELP a_gauge A gauge.\n"
            "# TYPE a_gauge gauge\n"
            "a_gauge 1.5\n"
            "# HELP b_total Things\\\\done.\\nTwice\n"
            "# TYPE b_total counter\n"
            "b_total{code=\"100\",method=\"sub\\\"scribe\"} 2\n"
            "b_total{code=\"101\",method=\"connect\"} 1\n");
}

TEST_F(ExpositionTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  ShardMetrics m(reg_);
  m.observe(hist_, {"x"}, 0.05);
  m.observe(hist_, {"x"}, 0.1);  // le is inclusive
  m.observe(hist_, {"x"}, 0.5);
  m.observe(hist_, {"x"}, 7);
  EXPECT_EQ(expose(reg_, m.snapshot()),
            "# HELP c_seconds Durations.\n"
            "# TYPE c_seconds histogram\n"
            "c_seconds_bucket{type=\"x\",le=\"0.1\"} 2\n"
            "c_seconds_bucket{type=\"x\",le=\"1\"} 3\n"
            "c_seconds_bucket{type=\"x\",le=\"+Inf\"} 4\n"
            "c_seconds_sum{type=\"x\"} 7.65\n"
            "c_seconds_count{type=\"x\"} 4\n");
}

TEST_F(ExpositionTest, SummaryQuantilesAreNaNWithoutObservations) {
  ShardMetrics m(reg_);
  m.at(summary_, {"rpc"});
  EXPECT_EQ(expose(reg_, m.snapshot()),
            "# HELP d_seconds Summary.\n"
            "# TYPE d_seconds summary\n"
            "d_seconds{method=\"rpc\",quantile=\"0.5\"} NaN\n"
            "d_seconds{method=\"rpc\",quantile=\"0.99\"} NaN\n"
            "d_seconds{method=\"rpc\",quantile=\"0.999\"} NaN\n"
            "d_seconds_sum{method=\"rpc\"} 0\n"
            "d_seconds_count{method=\"rpc\"} 0\n");
}

TEST_F(ExpositionTest, ShardSnapshotsMergeBySum) {
  ShardMetrics s0(reg_);
  ShardMetrics s1(reg_);
  s0.inc(counter_, {"1", "a"});
  s1.inc(counter_, {"1", "a"}, 4);
  s1.inc(counter_, {"2", "b"});
  s0.observe(hist_, {"x"}, 0.5);
  s1.observe(hist_, {"x"}, 2);
  for (int i = 1; i <= 100; ++i) {
    (i % 2 ? s0 : s1).observe(summary_, {"m"}, i);
  }
  Snapshot all = s0.snapshot();
  all.merge(s1.snapshot());
  EXPECT_EQ(all.families[counter_].at(series_key({"1", "a"})).count, 5u);
  EXPECT_EQ(all.families[counter_].at(series_key({"2", "b"})).count, 1u);
  const Series& h = all.families[hist_].at("x");
  EXPECT_EQ(h.count, 2u);
  EXPECT_EQ(h.buckets, (std::vector<uint64_t>{0, 1, 1}));
  std::string text = expose(reg_, all);
  EXPECT_NE(text.find("d_seconds{method=\"m\",quantile=\"0.5\"} 50\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds{method=\"m\",quantile=\"0.99\"} 99\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds{method=\"m\",quantile=\"0.999\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_sum{method=\"m\"} 5050\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_count{method=\"m\"} 100\n"), std::string::npos);
  EXPECT_EQ(text.find("e_unused"), std::string::npos);
}

TEST_F(ExpositionTest, SummaryWindowKeepsTheMostRecentObservations) {
  ShardMetrics m(reg_);
  for (size_t i = 0; i < kSummaryWindow; ++i) {
    m.observe(summary_, {"m"}, 1000);
  }
  for (size_t i = 0; i < kSummaryWindow; ++i) {
    m.observe(summary_, {"m"}, 1);
  }
  std::string text = expose(reg_, m.snapshot());
  EXPECT_NE(text.find("d_seconds{method=\"m\",quantile=\"0.999\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_count{method=\"m\"} 1024\n"), std::string::npos);
}

TEST(CatalogTest, CentrifugoNamesLabelsAndBuckets) {
  const Registry& r = registry();
  const Ids& i = ids();
  EXPECT_EQ(r.family(i.client_num_reply_errors).name, "centrifugo_client_num_reply_errors");
  EXPECT_EQ(r.family(i.client_num_reply_errors).labels,
            (std::vector<std::string>{"code", "method"}));
  EXPECT_EQ(r.family(i.api_command_duration_seconds_histogram).buckets,
            (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  EXPECT_EQ(r.family(i.transport_messages_sent).labels,
            (std::vector<std::string>{"channel_namespace", "frame_type", "transport"}));
  EXPECT_EQ(r.find("centrifugo_node_num_clients"), i.node_num_clients);
}

TEST(ProcessMetricsTest, ReadsProcSelf) {
  Snapshot s;
  collect_process(registry(), s);
  const Ids& i = ids();
  ASSERT_EQ(s.families[i.process_open_fds].size(), 1u);
  EXPECT_GE(s.families[i.process_open_fds].begin()->second.value, 3);
  EXPECT_GT(s.families[i.process_resident_memory_bytes].begin()->second.value, 0);
  EXPECT_GT(s.families[i.process_start_time_seconds].begin()->second.value, 1.6e9);
  EXPECT_GT(s.families[i.process_max_fds].begin()->second.value, 0);
}

}  // namespace
}  // namespace gyre::metrics
