#include "engine/redis/redis_cluster.h"

#include <gtest/gtest.h>

#include "engine/redis/redis_codec.h"

namespace gyre::engine::redis {
namespace {

// Expected slots from Redis 7.0 CLUSTER KEYSLOT.
TEST(RedisCluster, KeySlotIsCrc16OfTheHashTag) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("123456789"), 12739);  // CRC16/XMODEM check value 0x31C3 % 16384
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);  // an empty tag: the whole key is hashed
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);  // the tag is "{bar"
  EXPECT_EQ(key_slot("centrifugo.stream.{chat:1}"), 11659);
  EXPECT_EQ(key_slot("chat:1"), 11659);
}

TEST(RedisCluster, RoutingKeyIsTheFirstScriptKey) {
  EXPECT_EQ(routing_key({"EVALSHA", "abc", "2", "k1", "k2", "a"}), "k1");
  EXPECT_EQ(routing_key({"EVAL", "return 1", "0"}), "return 1");
  EXPECT_EQ(routing_key({"PUBLISH", "centrifugo.client.x", "m"}), "centrifugo.client.x");
  EXPECT_EQ(routing_key({"DEL", "k"}), "k");
}

TEST(RedisCluster, KeysAreHashTaggedInClusterModeAsCentrifuge) {
  RedisKeys k("centrifugo", true);
  EXPECT_EQ(k.stream("chat:1"), "centrifugo.stream.{chat:1}");
  EXPECT_EQ(k.stream_meta("chat:1"), "centrifugo.stream.meta.{chat:1}");
  EXPECT_EQ(k.result("chat:1", "key"), "centrifugo.result.{chat:1}.key");
  EXPECT_EQ(k.presence_data("chat:1"), "centrifugo.presence.data.{chat:1}");
  EXPECT_EQ(k.presence_expire("chat:1"), "centrifugo.presence.expire.{chat:1}");
  EXPECT_EQ(k.client_channel("chat:1"), "centrifugo.client.chat:1");
  EXPECT_EQ(k.channel_of("centrifugo.client.chat:1"), "chat:1");
  RedisKeys plain("centrifugo");
  EXPECT_EQ(plain.stream("chat:1"), "centrifugo.stream.chat:1");
}

}  // namespace
}  // namespace gyre::engine::redis
