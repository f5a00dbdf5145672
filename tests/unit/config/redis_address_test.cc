#include "config/redis_address.h"

#include <gtest/gtest.h>

namespace gyre::config {
namespace {

TEST(RedisAddressTest, HostPortAndUrlsParseAsCentrifugoAcceptsThem) {
  auto a = parse_redis_address("127.0.0.1:6380");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_FALSE(a->user);
  EXPECT_FALSE(a->db);

  a = parse_redis_address("redis://localhost");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "localhost");
  EXPECT_EQ(a->port, 6379);

  a = parse_redis_address("redis://user:p%40ss@redis1:7000/3");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "redis1");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->user, "user");
  EXPECT_EQ(a->password, "p@ss");
  EXPECT_EQ(a->db, 3);

  a = parse_redis_address("redis://:secret@h:1");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->user);
  EXPECT_EQ(a->password, "secret");

  a = parse_redis_address("tcp://[::1]:6379");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 6379);
}

TEST(RedisAddressTest, RedissIsRedisOverTls) {
  auto a = parse_redis_address("rediss://u:p@h:7000/2");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "h");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->db, 2);
  EXPECT_EQ(a->user, "u");
  EXPECT_FALSE(parse_redis_address("redis://h:1")->tls);
}

TEST(RedisAddressTest, UnixSocketPaths) {
  auto a = parse_redis_address("unix:///var/run/redis/redis.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unix_path, "/var/run/redis/redis.sock");
  EXPECT_EQ(a->host, "");
  EXPECT_FALSE(a->user);
  EXPECT_FALSE(a->password);
  EXPECT_FALSE(a->db);
  a = parse_redis_address("unix://u:p%40w@/tmp/r.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unix_path, "/tmp/r.sock");
  EXPECT_EQ(a->user, "u");
  EXPECT_EQ(a->password, "p@w");
  a = parse_redis_address("unix://:pw@/tmp/r.sock");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->user);
  EXPECT_EQ(a->password, "pw");
}

TEST(RedisAddressTest, BadAddressesSayWhy) {
  EXPECT_EQ(parse_redis_address("localhost").error(), "expected host:port or a redis:// URL");
  EXPECT_EQ(parse_redis_address("h:0").error(), "invalid port \"0\"");
  EXPECT_EQ(parse_redis_address("redis://h:1/x").error(), "invalid database number \"x\"");
  EXPECT_EQ(parse_redis_address("redis+sentinel://h:1").error(),
            "scheme \"redis+sentinel\" (Centrifugo v6) is not supported yet; supported: "
            "redis://, rediss://, tcp://, unix:// or host:port");
  EXPECT_EQ(parse_redis_address("http://h:1").error(),
            "scheme \"http\" is not supported; supported: redis://, rediss://, tcp://, unix:// "
            "or host:port");
  EXPECT_EQ(parse_redis_address("unix://host/r.sock").error(),
            "expected unix://[user[:password]@]/absolute/path/to/redis.sock");
  EXPECT_EQ(parse_redis_address("unix://").error(),
            "expected unix://[user[:password]@]/absolute/path/to/redis.sock");
  EXPECT_EQ(parse_redis_address("unix:///r.sock?db=1").error(),
            "URL options (\"?...\") are not supported yet");
  EXPECT_EQ(parse_redis_address("unix:///" + std::string(107, 'x')).error(),
            "socket path longer than 107 bytes");
  EXPECT_EQ(parse_redis_address(":6379").error(), "empty host");
}

}  // namespace
}  // namespace gyre::config
