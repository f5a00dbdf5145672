#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "core/op_result.h"
#include "metrics/node_info.h"
#include "node/control_codec.h"

// Node-to-node control (centrifuge node.go's control path) over an engine that supports it
// (engine::Engine::supports_control: Redis). Wire-compatible with Centrifugo v5.4.9, so Gyre
// and Centrifugo nodes on one Redis form one cluster:
//
// - Registry: every node PUBLISHes a controlpb.Node (id, name, version, counts, uptime) to
//   P.control every 3 s and at start; a node seen for the first time gets this node's info
//   at once on its own channel (P.node.<id>); a node silent for more than 7 s, or that sent
//   Shutdown, is forgotten. API `info` lists this node (fresh counts) plus the registry.
// - Metrics: as centrifuge, a snapshot of this node's metrics (metrics/node_info.h) is taken
//   at start and then every node_info_metrics_aggregate_interval (merged over the shards by
//   Node::collect_metrics, never blocking a loop); the next node info carries it once, and
//   API `info` shows the last one sent for this node (peers' are kept between theirs).
// - Commands: API subscribe/unsubscribe/disconnect/refresh (and the single-connection
//   disconnect with a whitelist) act locally, then go to every other node as a Command; a
//   received Command acts on the local connections of the user (client/session filters).
// - Surveys: a SurveyRequest to every node (or one), answered by SurveyResponses on the
//   asker's P.node.<id>; "channels" (Centrifugo's channels survey) and
//   "centrifuge_emulation" (an /emulation request for a session held by another node).
//   A survey waits for as many answers as the registry holds peers, at most 10 s.
//
// Thread affinity: the object is shared; its state lives on shard 0 and is touched only by
// shard 0's thread. Public methods may be called from any shard thread (they post to shard 0)
// and answer on the calling shard, always later (never inline). handle() runs on shard 0.
namespace gyre::node {

class Node;

class Cluster {
 public:
  // Node info cadence and expiry, as centrifuge (config.go: nodeInfoPublishInterval 3 s,
  // nodeInfoMaxDelay 2 * 3 s + 1 s).
  static constexpr std::chrono::seconds kInfoInterval{3};
  static constexpr std::chrono::seconds kMaxDelay{7};
  // centrifuge's defaultSurveyTimeout.
  static constexpr std::chrono::seconds kSurveyTimeout{10};

  explicit Cluster(Node& node);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Publishes this node's info and starts the 3 s timer (posted to shard 0).
  void start();
  // Graceful shutdown: tells the other nodes to forget this one (Shutdown command) and stops
  // the timer. `done` runs on the calling shard once the message was sent (or failed).
  void stop(std::function<void()> done);

  // A control message from the engine (shard 0).
  void handle(std::string data);

  // The other nodes known now (not this one), sorted by uid.
  void peers(std::function<void(std::vector<control::NodeInfo>)> done);
  // The metrics snapshot this node sent last (none before its first node info).
  void own_metrics(std::function<void(std::optional<control::Metrics>)> done);

  // Sends `cmd` (its uid is set to this node's) to every other node.
  void broadcast(control::Command cmd, OpCallback<bool> done);

  // Asks every other node (`to_node` empty) or one node. `done` gets the answers by node id;
  // an error (100) when the broker is unreachable, or when not every expected node answered
  // within kSurveyTimeout (centrifuge: the context error).
  using SurveyResults = std::map<std::string, control::SurveyResponse>;
  void survey(std::string op, std::string data, std::string to_node,
              OpCallback<SurveyResults> done);

  // The emulation survey's local half, installed by the server (which owns the sessions):
  // hands `data` to the session `session` of this node; `reply(code)`: 0 delivered,
  // control::kEmulationNoSession when there is no such session. Runs on shard 0.
  using EmulationHandler = std::function<void(std::string session, std::string data,
                                              std::function<void(uint32_t code)> reply)>;
  void set_emulation_handler(EmulationHandler h) { emulation_ = std::move(h); }
  // POST /emulation for a session of `to_node` (another node): 204 once that node answered,
  // 404 when the node is unknown, 500 when it did not answer (centrifuge's statuses).
  void forward_emulation(std::string to_node, std::string session, std::string data,
                         std::function<void(int status)> done);

 private:
  struct Peer {
    control::NodeInfo info;
    std::chrono::steady_clock::time_point seen;
  };
  struct Survey {
    size_t expected = 0;
    SurveyResults results;
    std::unique_ptr<boost::asio::steady_timer> timer;
    OpCallback<SurveyResults> done;  // runs on shard 0 (wrapped by survey())
  };

  void tick();
  void arm();
  // Takes a metrics snapshot for the next node info; `remember`: a periodic one (counters
  // as changes since the previous), false for the one taken at start.
  void aggregate_metrics(bool remember);
  void arm_metrics();
  // Gathers this node's counts, then publishes its info to `to_node` ("" = every node).
  void publish_info(std::string to_node);
  void publish(control::Command cmd, std::string to_node, OpCallback<bool> done);
  void on_node(control::NodeInfo info);
  void on_survey_request(const std::string& from, control::SurveyRequest req);
  void on_survey_response(const std::string& from, control::SurveyResponse resp);
  void finish_survey(uint64_t id, bool timed_out);
  void answer_survey(const std::string& to, uint64_t id, uint32_t code, std::string data);
  void survey_on_shard0(std::string op, std::string data, std::string to_node,
                        OpCallback<SurveyResults> done);

  Node& node_;
  std::map<std::string, Peer> peers_;  // by uid, without this node
  std::unordered_map<uint64_t, Survey> surveys_;
  uint64_t next_survey_id_ = 0;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer metrics_timer_;
  std::chrono::milliseconds metrics_interval_{60000};
  metrics::NodeInfoAggregator aggregator_;
  std::optional<control::Metrics> pending_metrics_;  // for the next node info
  std::optional<control::Metrics> sent_metrics_;     // the last one sent (API info)
  bool stopped_ = false;
  EmulationHandler emulation_;
};

}  // namespace gyre::node
