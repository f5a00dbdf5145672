#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Node-to-node control messages, byte for byte as centrifuge v0.33 encodes them
// (internal/controlpb/control.proto, protobuf via vtproto) so that Gyre and Centrifugo v5.4.9
// nodes understand each other on one broker. A Command carries the sender's node id and
// exactly one of the sub-messages. Also the two survey payloads Centrifugo defines (the
// "channels" survey: apiproto ChannelsRequest / ChannelsResult) and the emulation request
// (protocol EmulationRequest). Plain values and pure functions: any thread.
namespace gyre::node::control {

// controlpb.Metrics: what Centrifugo attaches to its node info once per
// node_info_metrics_aggregate_interval (Gyre nodes too: node/cluster.h).
struct Metrics {
  double interval = 0;
  std::map<std::string, double> items;
};

// controlpb.Node: what every node publishes about itself every 3 s.
struct NodeInfo {
  std::string uid;
  std::string name;
  std::string version;
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
  uint32_t num_channels = 0;
  uint32_t uptime = 0;
  std::optional<Metrics> metrics;
  std::string data;
  uint32_t num_subs = 0;
};

struct StreamPosition {
  uint64_t offset = 0;
  std::string epoch;
};

struct Subscribe {
  std::string user;
  std::string channel;
  bool emit_presence = false;
  bool emit_join_leave = false;
  int64_t expire_at = 0;
  bool position = false;
  bool recover = false;
  std::string channel_info;
  std::string client;
  std::string data;
  std::optional<StreamPosition> recover_since;
  std::string session;
  bool push_join_leave = false;
  uint32_t source = 0;
};

struct Unsubscribe {
  std::string channel;
  std::string user;
  std::string client;
  std::string session;
  uint32_t code = 0;
  std::string reason;
};

struct Disconnect {
  std::string user;
  std::vector<std::string> whitelist;
  uint32_t code = 0;
  std::string reason;
  bool reconnect = false;
  std::string client;
  std::string session;
};

struct SurveyRequest {
  uint64_t id = 0;
  std::string op;
  std::string data;
};

struct SurveyResponse {
  uint64_t id = 0;
  uint32_t code = 0;
  std::string data;
};

struct Notification {
  std::string op;
  std::string data;
};

struct Refresh {
  std::string user;
  std::string client;
  bool expired = false;
  int64_t expire_at = 0;
  std::string info;
  std::string session;
};

// controlpb.Command. Decoding keeps the first of the sub-messages present, in the order
// centrifuge's handleControl tests them.
struct Command {
  std::string uid;  // the sending node
  std::optional<NodeInfo> node;
  std::optional<Unsubscribe> unsubscribe;
  std::optional<Disconnect> disconnect;
  bool shutdown = false;
  std::optional<SurveyRequest> survey_request;
  std::optional<SurveyResponse> survey_response;
  std::optional<Subscribe> subscribe;
  std::optional<Notification> notification;
  std::optional<Refresh> refresh;
};

std::string encode(const Command& cmd);
// nullopt for malformed bytes (never reads past the end).
std::optional<Command> decode(std::string_view data);

// Survey ops: Centrifugo's "channels" and centrifuge's emulation forwarding.
inline constexpr std::string_view kChannelsOp = "channels";
inline constexpr std::string_view kEmulationOp = "centrifuge_emulation";
// Survey reply codes of Centrifugo's survey caller (internal/survey) and of centrifuge's
// emulation handler.
inline constexpr uint32_t kSurveyInternalError = 1;
inline constexpr uint32_t kSurveyInvalidRequest = 2;
inline constexpr uint32_t kSurveyMethodNotFound = 3;
inline constexpr uint32_t kEmulationBadRequest = 1;
inline constexpr uint32_t kEmulationNoSession = 2;

// apiproto.ChannelsRequest {1 pattern}.
std::string encode_channels_request(std::string_view pattern);
std::optional<std::string> decode_channels_request(std::string_view data);
// apiproto.ChannelsResult {1 map<string, ChannelInfo{1 num_clients}>}.
std::string encode_channels_result(const std::map<std::string, uint32_t>& channels);
std::optional<std::map<std::string, uint32_t>> decode_channels_result(std::string_view data);

// protocol.EmulationRequest {1 node, 2 session, 3 data}.
std::string encode_emulation_request(std::string_view node, std::string_view session,
                                     std::string_view data);
struct EmulationRequest {
  std::string node;
  std::string session;
  std::string data;
};
std::optional<EmulationRequest> decode_emulation_request(std::string_view data);

}  // namespace gyre::node::control
