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

TEST(RedisAddressTest, CentrifugoV6UrlForms) {
  using Mode = RedisAddress::Mode;
  auto a = parse_redis_address("redis+cluster://h1:7000?addr=h2:7001&addr=h3:7002&io_timeout=2s");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mode, Mode::kCluster);
  EXPECT_EQ(a->host, "h1");
  EXPECT_EQ(a->port, 7000);
  ASSERT_EQ(a->more.size(), 2u);
  EXPECT_EQ(a->more[1].host, "h3");
  EXPECT_EQ(a->more[1].port, 7002);
  EXPECT_EQ(a->io_timeout, std::chrono::milliseconds(2000));
  EXPECT_FALSE(a->connect_timeout);
  a = parse_redis_address(
      "rediss+sentinel://:pw@s1:26379/3?sentinel_master_name=mymaster&addr=s2:26379&"
      "sentinel_user=su&sentinel_password=sp&connect_timeout=250ms&force_resp2=true");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mode, Mode::kSentinel);
  EXPECT_TRUE(a->tls);
  EXPECT_TRUE(a->sentinel_tls);
  EXPECT_EQ(a->sentinel_master_name, "mymaster");
  EXPECT_EQ(a->sentinel_user, "su");
  EXPECT_EQ(a->sentinel_password, "sp");
  EXPECT_EQ(a->password, "pw");
  EXPECT_EQ(a->db, 3);
  EXPECT_EQ(a->connect_timeout, std::chrono::milliseconds(250));
  // A master name alone makes a redis:// address a Sentinel one (as centrifuge).
  a = parse_redis_address("redis://s1:26379?sentinel_master_name=m&tls_enabled=1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mode, Mode::kSentinel);
  EXPECT_TRUE(a->tls);
  EXPECT_FALSE(a->sentinel_tls);
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
            "sentinel master name must be set (?sentinel_master_name=...)");
  EXPECT_EQ(parse_redis_address("http://h:1").error(),
            "scheme \"http\" is not supported; supported: redis://, rediss://, tcp://, unix://, "
            "redis+cluster://, redis+sentinel://, rediss+sentinel:// or host:port");
  EXPECT_EQ(parse_redis_address("redis://h:1?addr=h:2").error(),
            "?addr= is for redis+cluster:// and redis+sentinel:// addresses");
  EXPECT_EQ(parse_redis_address("redis://h:1?foo=1").error(), "unknown URL option \"foo\"");
  EXPECT_EQ(parse_redis_address("redis://h:1?io_timeout=abc").error(),
            "invalid io_timeout: \"abc\"");
  EXPECT_EQ(parse_redis_address("redis://h:1?tls_enabled=maybe").error(),
            "invalid tls_enabled value: \"maybe\"");
  EXPECT_EQ(parse_redis_address("redis+cluster://h:1?addr=redis://x:2").error(),
            "addr \"redis://x:2\": expected host:port");
  EXPECT_EQ(parse_redis_address("redis+cluster://h:1?replica_client_enabled=true").error(),
            "replica_client_enabled: reads from replicas are not supported yet");
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
