#include <gtest/gtest.h>

#include "config/loader.h"

namespace gyre::config {
namespace {

TEST(Reload, TakesTokenAndChannelRulesKeepsTheRest) {
  Config running;
  running.port = "8000";
  running.token.hmac_secret_key = "old";
  running.ping_interval = Duration(25000);
  running.namespaces.push_back({"a", {}});
  Config fresh;
  fresh.port = "9999";
  fresh.ping_interval = Duration(1000);
  fresh.token.hmac_secret_key = "new";
  fresh.subscription_token.rsa_public_key = "pem";
  fresh.separate_subscription_token_config = true;
  fresh.namespaces.push_back({"b", {}});
  fresh.channel.presence = true;
  fresh.channel_max_length = 100;
  fresh.user_subscribe_to_personal = true;
  fresh.client_insecure = true;

  Config next = apply_reload(running, fresh);
  EXPECT_EQ(next.port, "8000");
  EXPECT_EQ(next.ping_interval, Duration(25000));
  EXPECT_EQ(next.token.hmac_secret_key, "new");
  EXPECT_EQ(next.subscription_token.rsa_public_key, "pem");
  EXPECT_TRUE(next.separate_subscription_token_config);
  ASSERT_EQ(next.namespaces.size(), 1u);
  EXPECT_EQ(next.namespaces[0].name, "b");
  EXPECT_TRUE(next.channel.presence);
  EXPECT_EQ(next.channel_max_length, 100);
  EXPECT_TRUE(next.user_subscribe_to_personal);
  EXPECT_TRUE(next.client_insecure);
}

}  // namespace
}  // namespace gyre::config
