#include "metrics/names.h"

#include <vector>

namespace gyre::metrics {

namespace {

struct Catalog {
  Registry registry;
  Ids ids{};
};

Catalog build() {
  Catalog c;
  auto& r = c.registry;
  auto& i = c.ids;
  using V = std::vector<std::string>;
  auto counter = [&r](std::string name, std::string help, V labels = {}) {
    return r.add({std::move(name), std::move(help), Kind::kCounter, std::move(labels), {}});
  };
  auto gauge = [&r](std::string name, std::string help, V labels = {}) {
    return r.add({std::move(name), std::move(help), Kind::kGauge, std::move(labels), {}});
  };
  auto summary = [&r](std::string name, std::string help, V labels) {
    return r.add({std::move(name), std::move(help), Kind::kSummary, std::move(labels), {}});
  };
  auto histogram = [&r](std::string name, std::string help, V labels,
                        std::vector<double> buckets) {
    return r.add({std::move(name), std::move(help), Kind::kHistogram, std::move(labels),
                  std::move(buckets)});
  };
  std::vector<double> def(default_buckets().begin(), default_buckets().end());

  i.node_messages_sent_count = counter("centrifugo_node_messages_sent_count",
                                       "Number of messages sent by node to broker.", {"type"});
  i.node_messages_received_count = counter("centrifugo_node_messages_received_count",
                                           "Number of messages received from broker.", {"type"});
  i.node_action_count =
      counter("centrifugo_node_action_count", "Number of various actions called.", {"action"});
  i.node_num_clients = gauge("centrifugo_node_num_clients", "Number of clients connected.");
  i.node_num_users = gauge("centrifugo_node_num_users", "Number of unique users connected.");
  i.node_num_subscriptions =
      gauge("centrifugo_node_num_subscriptions", "Number of subscriptions.");
  i.node_num_channels = gauge("centrifugo_node_num_channels",
                              "Number of channels with one or more subscribers.");
  i.node_num_nodes = gauge("centrifugo_node_num_nodes", "Number of nodes in the cluster.");
  i.node_build = gauge("centrifugo_node_build", "Node build info.", {"version"});
  i.node_client_connection_limit =
      counter("centrifugo_node_client_connection_limit",
              "Number of refused requests due to node client connection limit.");

  i.node_pub_sub_lag_seconds =
      histogram("centrifugo_node_pub_sub_lag_seconds", "Pub sub lag in seconds", {},
                {0.001, 0.005, 0.010, 0.025, 0.050, 0.100, 0.200, 0.500, 1.000, 2.000, 5.000, 10.000});
  // One observation per publication per shard holding subscribers of its channel (centrifuge:
  // one per publication per node with subscribers; its one hub is Gyre's shards together).
  i.node_broadcast_duration_seconds =
      histogram("centrifugo_node_broadcast_duration_seconds", "Broadcast duration in seconds", {},
                {0.000001, 0.000005, 0.000010, 0.000050, 0.000100, 0.000250, 0.000500, 0.001,
                 0.005, 0.010, 0.025, 0.050, 0.100, 0.250, 0.500, 1.0, 2.5, 5.0, 10.0});
  i.node_survey_duration_seconds =
      summary("centrifugo_node_survey_duration_seconds", "Survey duration summary.", {"op"});
  i.client_num_reply_errors = counter("centrifugo_client_num_reply_errors",
                                      "Number of errors in replies sent to clients.",
                                      {"code", "method"});
  i.client_num_server_unsubscribes = counter("centrifugo_client_num_server_unsubscribes",
                                             "Number of server initiated unsubscribes.", {"code"});
  i.client_num_server_disconnects = counter("centrifugo_client_num_server_disconnects",
                                            "Number of server initiated disconnects.", {"code"});
  i.client_command_duration_seconds = summary("centrifugo_client_command_duration_seconds",
                                              "Client command duration summary.", {"method"});
  i.client_recover =
      counter("centrifugo_client_recover", "Count of recover operations.", {"recovered"});

  i.client_ping_pong_duration_seconds =
      histogram("centrifugo_client_ping_pong_duration_seconds", "Ping/Pong duration in seconds",
                {"transport"},
                {0.000100, 0.000250, 0.000500, 0.001, 0.005, 0.010, 0.025, 0.050, 0.100, 0.250,
                 0.500, 1.0, 2.5, 5.0, 10.0});
  i.transport_connect_count = counter("centrifugo_transport_connect_count",
                                      "Number of connections to specific transport.",
                                      {"transport"});
  V tl = {"channel_namespace", "frame_type", "transport"};
  i.transport_messages_sent = counter(
      "centrifugo_transport_messages_sent",
      "Number of messages sent to client connections over specific transport.", tl);
  i.transport_messages_sent_size = counter(
      "centrifugo_transport_messages_sent_size",
      "Size in bytes of messages sent to client connections over specific transport.", tl);
  i.transport_messages_received = counter(
      "centrifugo_transport_messages_received",
      "Number of messages received from client connections over specific transport.", tl);
  i.transport_messages_received_size = counter(
      "centrifugo_transport_messages_received_size",
      "Size in bytes of messages received from client connections over specific transport.", tl);

  i.api_command_duration_seconds = summary("centrifugo_api_command_duration_seconds",
                                           "Duration of API per command.", {"method", "protocol"});
  i.api_command_duration_seconds_histogram =
      histogram("centrifugo_api_command_duration_seconds_histogram",
                "Histogram of duration of API per command.", {"method", "protocol"}, def);
  i.proxy_duration_seconds = summary("centrifugo_proxy_duration_seconds",
                                     "Duration of proxy call.", {"protocol", "type"});
  i.proxy_duration_seconds_histogram =
      histogram("centrifugo_proxy_duration_seconds_histogram",
                "Histogram of duration of proxy call.", {"protocol", "type"}, def);
  i.proxy_errors =
      counter("centrifugo_proxy_errors", "Proxy call error count.", {"protocol", "type"});
  // Granular proxy mode: subscribe, publish, rpc and sub_refresh calls by proxy name (connect
  // and refresh stay in centrifugo_proxy_*, as in Centrifugo). Labels sorted as Go prints them.
  i.granular_proxy_duration_seconds = summary("centrifugo_granular_proxy_duration_seconds",
                                              "Duration of granular proxy call.", {"name", "type"});
  i.granular_proxy_duration_seconds_histogram =
      histogram("centrifugo_granular_proxy_duration_seconds_histogram",
                "Histogram of duration of granular proxy call.", {"name", "type"}, def);
  i.granular_proxy_errors = counter("centrifugo_granular_proxy_errors",
                                    "Granular proxy call error count.", {"name", "type"});

  i.process_cpu_seconds_total = counter("process_cpu_seconds_total",
                                        "Total user and system CPU time spent in seconds.");
  i.process_max_fds = gauge("process_max_fds", "Maximum number of open file descriptors.");
  i.process_open_fds = gauge("process_open_fds", "Number of open file descriptors.");
  i.process_resident_memory_bytes =
      gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  i.process_start_time_seconds = gauge("process_start_time_seconds",
                                       "Start time of the process since unix epoch in seconds.");
  i.process_virtual_memory_bytes =
      gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  i.process_virtual_memory_max_bytes = gauge("process_virtual_memory_max_bytes",
                                             "Maximum amount of virtual memory available in bytes.");

  // client_golang reads /proc/<pid>/net/netstat (IpExt InOctets/OutOctets): the network
  // namespace's IP traffic, which is the process's own only in a container of its own.
  i.process_network_receive_bytes_total =
      counter("process_network_receive_bytes_total",
              "Number of bytes received by the process over the network.");
  i.process_network_transmit_bytes_total =
      counter("process_network_transmit_bytes_total",
              "Number of bytes sent by the process over the network.");

  i.gyre_shards = gauge("gyre_shards", "Number of shards (event-loop threads).");
  i.gyre_shard_loop_turns_total =
      counter("gyre_shard_loop_turns_total",
              "Turns of a shard's event loop (each runs ready handlers, then flushes output).",
              {"shard"});
  i.gyre_shard_handlers_total =
      counter("gyre_shard_handlers_total", "Handlers run by a shard's event loop.", {"shard"});
  i.gyre_shard_flushes_total = counter(
      "gyre_shard_flushes_total",
      "Connections whose queued output a shard wrote in one corked flush (one writev each).",
      {"shard"});
  i.gyre_shard_write_holds_total = counter(
      "gyre_shard_write_holds_total",
      "Times write coalescing held a connection's output for the window instead of writing "
      "it in its loop turn.",
      {"shard"});
  i.gyre_shard_socket_writes_total = counter(
      "gyre_shard_socket_writes_total",
      "Socket writes (one writev each) of a shard's WebSocket and HTTP-stream connections.",
      {"shard"});
  i.gyre_shard_write_window_microseconds = gauge(
      "gyre_shard_write_window_microseconds",
      "A shard's current write coalescing window (client_write_delay; adaptive by default).",
      {"shard"});
  return c;
}

const Catalog& catalog() {
  static const Catalog c = build();
  return c;
}

}  // namespace

const Registry& registry() { return catalog().registry; }

void precreate(ShardMetrics& m) {
  const Ids& i = ids();
  for (auto t : kNodeMessageTypes) {
    m.at(i.node_messages_sent_count, {t});
    m.at(i.node_messages_received_count, {t});
  }
  for (auto a : kNodeActions) {
    m.at(i.node_action_count, {a});
  }
  m.at(i.client_recover, {"no"});
  m.at(i.client_recover, {"yes"});
  for (auto t : kPreCreatedTransports) {
    m.at(i.transport_connect_count, {t});
  }
  for (auto method : kCommandMethods) {
    m.at(i.client_command_duration_seconds, {method});
  }
  m.at(i.node_client_connection_limit);
  m.at(i.node_pub_sub_lag_seconds);
  m.at(i.node_broadcast_duration_seconds);
}
const Ids& ids() { return catalog().ids; }

}  // namespace gyre::metrics
