#include "node/control_codec.h"

#include <gtest/gtest.h>

namespace gyre::node::control {
namespace {

TEST(ControlCodecTest, DisconnectWithWhitelistHasCentrifugesBytes) {
  Command cmd;
  cmd.uid = "n1";
  auto& d = cmd.disconnect.emplace();
  d.user = "u";
  d.whitelist = {"c1"};
  d.code = 3504;
  d.reason = "r";
  // controlpb.Command{uid: 1, disconnect: 6{user 1, whitelist 2, code 3, reason 4}}.
  const std::string want("\x0a\x02n1\x32\x0d\x0a\x01u\x12\x02" "c1\x18\xb0\x1b\x22\x01r", 19);
  EXPECT_EQ(encode(cmd), want);
  auto back = decode(want);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->uid, "n1");
  ASSERT_TRUE(back->disconnect);
  EXPECT_EQ(back->disconnect->user, "u");
  EXPECT_EQ(back->disconnect->whitelist, std::vector<std::string>{"c1"});
  EXPECT_EQ(back->disconnect->code, 3504u);
  EXPECT_EQ(back->disconnect->reason, "r");
  EXPECT_FALSE(back->node);
}

TEST(ControlCodecTest, ShutdownIsAnEmptySubMessage) {
  Command cmd;
  cmd.uid = "x";
  cmd.shutdown = true;
  EXPECT_EQ(encode(cmd), std::string("\x0a\x01x\x3a\x00", 5));
  auto back = decode(encode(cmd));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->shutdown);
}

TEST(ControlCodecTest, NodeInfoAndSubscribeRoundTrip) {
  Command cmd;
  cmd.uid = "id";
  auto& n = cmd.node.emplace();
  n.uid = "id";
  n.name = "name";
  n.version = "0.1.0";
  n.num_clients = 3;
  n.num_users = 2;
  n.num_channels = 5;
  n.num_subs = 7;
  n.uptime = 11;
  auto back = decode(encode(cmd));
  ASSERT_TRUE(back && back->node);
  EXPECT_EQ(back->node->name, "name");
  EXPECT_EQ(back->node->num_clients, 3u);
  EXPECT_EQ(back->node->num_users, 2u);
  EXPECT_EQ(back->node->num_channels, 5u);
  EXPECT_EQ(back->node->num_subs, 7u);
  EXPECT_EQ(back->node->uptime, 11u);

  Command s;
  auto& sub = s.subscribe.emplace();
  sub.user = "u";
  sub.channel = "chat:1";
  sub.recover = true;
  sub.expire_at = 1700000000;
  sub.recover_since = StreamPosition{42, "ep"};
  sub.source = 10;
  auto sb = decode(encode(s));
  ASSERT_TRUE(sb && sb->subscribe);
  EXPECT_EQ(sb->subscribe->channel, "chat:1");
  EXPECT_TRUE(sb->subscribe->recover);
  EXPECT_EQ(sb->subscribe->expire_at, 1700000000);
  ASSERT_TRUE(sb->subscribe->recover_since);
  EXPECT_EQ(sb->subscribe->recover_since->offset, 42u);
  EXPECT_EQ(sb->subscribe->recover_since->epoch, "ep");
  EXPECT_EQ(sb->subscribe->source, 10u);
}

TEST(ControlCodecTest, MalformedInputIsRejected) {
  EXPECT_FALSE(decode(std::string("\x0a\x05" "ab", 4)));       // truncated uid
  EXPECT_FALSE(decode(std::string("\x32\x03\x0a\x05x", 5)));    // truncated inside disconnect
  EXPECT_FALSE(decode(std::string("\x22\x01", 2)));             // node field cut short
  EXPECT_FALSE(decode(std::string("\x20\x01", 2)));             // node as a varint
  EXPECT_TRUE(decode(""));                                       // an empty Command
}

TEST(ControlCodecTest, ChannelsSurveyPayloads) {
  EXPECT_EQ(encode_channels_request("chat:*"), std::string("\x0a\x06" "chat:*", 8));
  EXPECT_EQ(decode_channels_request(encode_channels_request("p")), "p");
  // map<string, ChannelInfo>: entry {1 key, 2 {1 num_clients}}.
  const std::string result = encode_channels_result({{"a", 2}});
  EXPECT_EQ(result, std::string("\x0a\x07\x0a\x01" "a\x12\x02\x08\x02", 9));
  auto back = decode_channels_result(result);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->at("a"), 2u);
  EXPECT_FALSE(decode_channels_result(std::string("\x0a\x09\x0a", 3)));
}

TEST(ControlCodecTest, EmulationRequestRoundTrip) {
  auto e = decode_emulation_request(encode_emulation_request("n", "s", "\"{}\""));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->node, "n");
  EXPECT_EQ(e->session, "s");
  EXPECT_EQ(e->data, "\"{}\"");
}

}  // namespace
}  // namespace gyre::node::control

namespace gyre::node::control {
namespace {

TEST(ControlCodecTest, NodeMetricsDoublesRoundTrip) {
  Command cmd;
  auto& n = cmd.node.emplace();
  n.uid = "c";
  n.metrics = Metrics{60, {{"a.b", 1.5}, {"z", -2e-9}, {"zero", 0}}};
  const std::string bytes = encode(cmd);
  // interval 60.0 as a little-endian double after the metrics tag (field 8) and field 1 tag.
  EXPECT_NE(bytes.find(std::string("\x09\x00\x00\x00\x00\x00\x00\x4e\x40", 9)), std::string::npos);
  auto back = decode(bytes);
  ASSERT_TRUE(back && back->node && back->node->metrics);
  EXPECT_EQ(back->node->metrics->interval, 60);
  EXPECT_EQ(back->node->metrics->items.at("a.b"), 1.5);
  EXPECT_EQ(back->node->metrics->items.at("z"), -2e-9);
  EXPECT_EQ(back->node->metrics->items.at("zero"), 0);
  // A double field sent as a varint is malformed.
  EXPECT_FALSE(decode(std::string("\x22\x04\x42\x02\x08\x01", 6)));
}

}  // namespace
}  // namespace gyre::node::control
