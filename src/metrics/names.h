#pragma once

#include <string_view>

#include "metrics/registry.h"
#include "metrics/shard_metrics.h"

// Every metric family Gyre exposes on /metrics: Centrifugo v5.4.9's (names, HELP strings,
// label names and histogram buckets as centrifuge v0.33 metrics.go and Centrifugo's
// internal/api, internal/proxy and internal/middleware register them), the process
// collector's, and Gyre's own `gyre_` series. One immutable process-wide table: thread-safe.
namespace gyre::metrics {

struct Ids {
  // centrifuge node
  FamilyId node_messages_sent_count, node_messages_received_count, node_action_count;
  FamilyId node_num_clients, node_num_users, node_num_subscriptions, node_num_channels,
      node_num_nodes, node_build;
  FamilyId node_client_connection_limit, node_pub_sub_lag_seconds;
  FamilyId node_broadcast_duration_seconds, node_survey_duration_seconds;
  // centrifuge client
  FamilyId client_num_reply_errors, client_num_server_unsubscribes,
      client_num_server_disconnects, client_command_duration_seconds, client_recover,
      client_ping_pong_duration_seconds;
  // centrifuge transport
  FamilyId transport_connect_count, transport_messages_sent, transport_messages_sent_size,
      transport_messages_received, transport_messages_received_size;
  // Centrifugo server API and proxies
  FamilyId api_command_duration_seconds, api_command_duration_seconds_histogram;
  FamilyId proxy_duration_seconds, proxy_duration_seconds_histogram, proxy_errors;
  FamilyId granular_proxy_duration_seconds, granular_proxy_duration_seconds_histogram,
      granular_proxy_errors;
  // process collector (client_golang's, Linux)
  FamilyId process_cpu_seconds_total, process_max_fds, process_open_fds,
      process_resident_memory_bytes, process_start_time_seconds, process_virtual_memory_bytes,
      process_virtual_memory_max_bytes, process_network_receive_bytes_total,
      process_network_transmit_bytes_total;
  // Gyre
  FamilyId gyre_shards, gyre_shard_loop_turns_total, gyre_shard_handlers_total,
      gyre_shard_flushes_total, gyre_shard_write_holds_total, gyre_shard_socket_writes_total,
      gyre_shard_write_window_microseconds;
};

const Registry& registry();
const Ids& ids();

// Creates at zero the series client_golang shows before any event, as centrifuge does with
// its pre-resolved label values: node message types and actions, recover yes/no, the
// websocket/sse/http_stream connect counts, command duration summaries per method, the
// connection limit counter and the pub/sub lag and broadcast duration histograms.
void precreate(ShardMetrics& m);

// Pre-created label values (precreate()): node message types, node actions, client command
// methods (centrifuge's protocol.FrameType.String(), plus "unknown") and transports.
inline constexpr std::string_view kNodeMessageTypes[] = {"control", "join", "leave",
                                                         "publication"};
inline constexpr std::string_view kNodeActions[] = {
    "add_client",         "add_presence",   "add_subscription",
    "history",            "history_recover", "history_remove",
    "history_stream_top", "history_stream_top_latest_pub",
    "notify",             "presence",       "presence_stats",
    "remove_client",      "remove_presence", "remove_subscription",
    "survey"};
inline constexpr std::string_view kCommandMethods[] = {
    "connect", "history", "presence", "presence_stats", "publish",     "refresh",
    "rpc",     "send",    "sub_refresh", "subscribe",   "unknown",     "unsubscribe"};
inline constexpr std::string_view kPreCreatedTransports[] = {"http_stream", "sse", "websocket"};

}  // namespace gyre::metrics
