#pragma once

#include <cstdint>
#include <string>

#include "load/options.h"

// Figures of one gyre-load run and their two renderings: a human summary and one JSON line for
// bench/run to aggregate. Plain data.
namespace gyre::bench {

struct Results {
  // Connect phase.
  int64_t connect_ok = 0;
  int64_t connect_failed = 0;
  double connect_seconds = 0;  // first connect() to last ready subscriber
  double connects_per_second = 0;
  double connect_p50_ms = 0;
  double connect_p99_ms = 0;
  double connect_max_ms = 0;
  std::string first_error;

  // Publish phase.
  int64_t published = 0;  // acknowledged (nats: sent and flushed with PING/PONG)
  int64_t publish_failed = 0;
  double publish_seconds = 0;
  double publish_rate = 0;

  // Deliveries.
  int64_t expected = 0;
  int64_t received = 0;
  int64_t lost = 0;
  int64_t unparsed = 0;
  int64_t out_of_order = 0;
  int64_t disconnects = 0;
  double delivery_seconds = 0;  // first to last delivery
  double deliveries_per_second = 0;
  double latency_p50_us = 0;
  double latency_p90_us = 0;
  double latency_p99_us = 0;
  double latency_max_us = 0;
  double latency_mean_us = 0;

  // Server (given --server-pid).
  bool server_sampled = false;
  uint64_t rss_before_bytes = 0;   // before connecting
  uint64_t rss_connected_bytes = 0;  // after connect (and idle hold)
  uint64_t rss_end_bytes = 0;
  double rss_per_connection_bytes = 0;
  double connect_cpu_seconds = 0;
  double idle_cpu_seconds = 0;
  double idle_seconds = 0;
  double publish_cpu_seconds = 0;  // publish start to end of drain
  double deliveries_per_cpu_second = 0;
  double cpu_us_per_delivery = 0;
  double connects_per_cpu_second = 0;

  double tool_cpu_seconds = 0;
  double wall_seconds = 0;
};

void print_summary(const Options& o, const Results& r);
void print_json(const Options& o, const Results& r);

}  // namespace gyre::bench
