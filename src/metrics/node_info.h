#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "metrics/registry.h"
#include "metrics/shard_metrics.h"

// The metrics snapshot a node attaches to its node info (controlpb.Metrics items), flattened
// as Centrifugo v5.4.9 does (centrifuge v0.33 node.go over FZambia/eagle v0.1.0, Flatten(".")):
//
// - key: the family name cut at its first two '_' into namespace, subsystem and name
//   ("centrifugo_node_num_clients" -> "centrifugo.node.num_clients"; empty parts dropped),
//   then "sum", "count" or "quantile.<q>" for summaries, then each label name and value
//   (labels with an empty value are left out), all joined with '.';
// - gauges: their value; counters and summaries' sum and count: the change since the
//   previous remembered aggregation (the whole value the first time, and in an export that
//   does not remember); summary quantiles ("50", "99", "999") over the current window, left
//   out when there are no observations; histograms: nothing.
//
// Plain object, not thread-safe: the cluster keeps one on shard 0.
namespace gyre::metrics {

class NodeInfoAggregator {
 public:
  // Flattened items of `values`. `remember`: the periodic aggregation (keeps the values the
  // next one subtracts); false for the export taken once at start (eagle's Export()).
  std::map<std::string, double> flatten(const Registry& registry, const Snapshot& values,
                                        bool remember);

 private:
  std::unordered_map<std::string, double> previous_;  // counters, sums and counts by key
};

// "centrifugo_node_num_clients" -> "centrifugo.node.num_clients".
std::string node_info_prefix(std::string_view family_name);

}  // namespace gyre::metrics
