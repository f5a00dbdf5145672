#include <gtest/gtest.h>

#include "config/loader.h"

namespace gyre::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Fixture for validate(): starts from a default Config and checks one rule per test.
class ConfigValidateTest : public ::testing::Test {
 protected:
  // The ConfigError message of validate(config_), or "" when it is valid.
  std::string error() const {
    try {
      validate(config_);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  Namespace& add_namespace(std::string name) {
    config_.namespaces.push_back(Namespace{std::move(name), {}});
    return config_.namespaces.back();
  }

  Config config_;
};

TEST_F(ConfigValidateTest, DefaultConfigIsValid) { EXPECT_EQ(error(), ""); }

TEST_F(ConfigValidateTest, PingIntervalMustExceedPongTimeout) {
  config_.ping_interval = seconds(8);
  EXPECT_EQ(error(), "config: key \"ping_interval\": must be greater than pong_timeout (8s <= 8s)");
  config_.ping_interval = seconds(9);
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, AllowedOriginsMustBeValidGlobs) {
  config_.allowed_origins = {"*", "https://*.example.com", "http://localhost:[3-5]000",
                             "https://{a,b}.Example.COM"};
  EXPECT_EQ(error(), "");
  config_.allowed_origins.push_back("https://[z-a].example.com");
  EXPECT_EQ(error(),
            "config: key \"allowed_origins[4]\": invalid glob pattern "
            "\"https://[z-a].example.com\"");
  config_.allowed_origins = {"https://{a,b.example.com"};
  EXPECT_EQ(error(), "config: key \"allowed_origins[0]\": invalid glob pattern "
                     "\"https://{a,b.example.com\"");
}

TEST_F(ConfigValidateTest, DisabledPingOrPongSkipsTheOrderingRule) {
  config_.ping_interval = seconds(0);
  EXPECT_EQ(error(), "");
  config_.ping_interval = seconds(5);
  config_.pong_timeout = seconds(0);
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, HistorySizeAndTtlMustBeSetTogether) {
  config_.channel.history_size = 10;
  EXPECT_EQ(error(),
            "config: key \"history_ttl\": history_size and history_ttl must be set together");
  config_.channel.history_size = 0;
  add_namespace("ok");
  add_namespace("chat").options.history_ttl = seconds(60);
  EXPECT_EQ(error(), "config: key \"namespaces[1].history_size\": history_size and "
                     "history_ttl must be set together");
  config_.namespaces[1].options.history_size = 5;
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, HistoryTtlMustNotExceedMetaTtl) {
  config_.channel.history_size = 1;
  config_.channel.history_ttl = seconds(721 * 3600);
  EXPECT_EQ(error(), "config: key \"history_ttl\": 721h0m0s exceeds the history meta TTL 720h0m0s");
  config_.channel.history_meta_ttl = seconds(722 * 3600);
  EXPECT_EQ(error(), "");
  Namespace& ns = add_namespace("chat");
  ns.options.history_size = 1;
  ns.options.history_ttl = seconds(120);
  ns.options.history_meta_ttl = seconds(60);
  EXPECT_EQ(error(),
            "config: key \"namespaces[0].history_ttl\": 2m0s exceeds the history meta TTL 1m0s");
}

TEST_F(ConfigValidateTest, TtlsMustBeWholeSeconds) {
  config_.channel.history_meta_ttl = milliseconds(1500);
  EXPECT_EQ(error(), "config: key \"history_meta_ttl\": must be whole seconds, got 1.5s");
  config_.channel.history_meta_ttl = milliseconds(0);
  config_.global_history_meta_ttl = milliseconds(100);
  EXPECT_EQ(error(), "config: key \"global_history_meta_ttl\": must be whole seconds, got 100ms");
}

TEST_F(ConfigValidateTest, ForceRecoveryRequiresHistory) {
  add_namespace("chat").options.force_recovery = true;
  EXPECT_EQ(error(), "config: key \"namespaces[0].force_recovery\": requires history "
                     "(history_size and history_ttl)");
  config_.namespaces[0].options.history_size = 10;
  config_.namespaces[0].options.history_ttl = seconds(30);
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, ForceRecoveryModeMustBeStreamOrCache) {
  config_.channel.force_recovery_mode = "cache";
  EXPECT_EQ(error(), "");
  config_.channel.force_recovery_mode = "stream";
  EXPECT_EQ(error(), "");
  config_.channel.force_recovery_mode = "memory";
  EXPECT_EQ(error(), "config: key \"force_recovery_mode\": invalid value \"memory\" "
                     "(expected \"stream\" or \"cache\")");
}

TEST_F(ConfigValidateTest, OnlyFossilDeltaIsAllowed) {
  config_.channel.allowed_delta_types = {"fossil"};
  EXPECT_EQ(error(), "");
  config_.channel.allowed_delta_types = {"fossil", "xdelta"};
  EXPECT_EQ(error(), "config: key \"allowed_delta_types\": unknown delta type \"xdelta\" "
                     "(supported: fossil)");
}

TEST_F(ConfigValidateTest, ApiErrorModeMustBeTransportOrEmpty) {
  config_.api_error_mode = "transport";
  EXPECT_EQ(error(), "");
  config_.api_error_mode = "http";
  EXPECT_EQ(error(), "config: key \"api_error_mode\": invalid value \"http\" "
                     "(expected \"\" or \"transport\")");
}

TEST_F(ConfigValidateTest, AudienceAndIssuerExcludeTheirRegexTwins) {
  config_.token.audience = "a";
  config_.token.audience_regex = "^a$";
  EXPECT_EQ(error(),
            "config: key \"token_audience\": cannot be set together with token_audience_regex");
  config_.token.audience.clear();
  config_.subscription_token.issuer = "i";
  config_.subscription_token.issuer_regex = "^i$";
  EXPECT_EQ(error(), "config: key \"subscription_token_issuer\": cannot be set together with "
                     "subscription_token_issuer_regex");
  config_.subscription_token.issuer.clear();
  EXPECT_EQ(error(), "");
  config_.token.issuer_regex = "(";
  EXPECT_EQ(error().rfind("config: key \"token_issuer_regex\": invalid regex \"(\": ", 0), 0u);
}

TEST_F(ConfigValidateTest, UserIdClaimMustBeAnIdentifier) {
  config_.token.user_id_claim = "user_id";
  EXPECT_EQ(error(), "");
  config_.token.user_id_claim = "user-id";
  EXPECT_EQ(error(), "config: key \"token_user_id_claim\": invalid claim name \"user-id\" "
                     "(must match ^[a-zA-Z_]+$)");
  config_.token.user_id_claim.clear();
  config_.subscription_token.user_id_claim = "a.b";
  EXPECT_EQ(error(), "config: key \"subscription_token_user_id_claim\": invalid claim name "
                     "\"a.b\" (must match ^[a-zA-Z_]+$)");
}

TEST_F(ConfigValidateTest, PersonalChannelNamespaceMustExist) {
  config_.user_subscribe_to_personal = true;
  EXPECT_EQ(error(), "");  // top level always exists
  config_.user_personal_channel_namespace = "personal";
  EXPECT_EQ(error(), "config: key \"user_personal_channel_namespace\": namespace \"personal\" "
                     "is not defined in namespaces");
  add_namespace("personal");
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, SingleConnectionRequiresPresenceInPersonalNamespace) {
  config_.user_subscribe_to_personal = true;
  config_.user_personal_single_connection = true;
  EXPECT_EQ(error(), "config: key \"user_personal_single_connection\": requires presence for "
                     "channels without namespace");
  config_.channel.presence = true;
  EXPECT_EQ(error(), "");
  config_.user_personal_channel_namespace = "personal";
  add_namespace("personal");
  EXPECT_EQ(error(), "config: key \"user_personal_single_connection\": requires presence in "
                     "namespace \"personal\"");
  config_.namespaces[0].options.presence = true;
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigValidateTest, StreamProxyCannotBeCombinedWithOtherChannelProxies) {
  Namespace& ns = add_namespace("stream");
  ns.options.proxy_subscribe_stream = true;
  EXPECT_EQ(error(), "");
  ns.options.proxy_publish = true;
  EXPECT_EQ(error(), "config: key \"namespaces[0].proxy_subscribe_stream\": cannot be combined "
                     "with proxy_subscribe, proxy_publish or proxy_sub_refresh");
  ns.options.proxy_publish = false;
  ns.options.proxy_subscribe_stream = false;
  config_.channel.subscribe_stream_proxy_name = "s";
  config_.channel.subscribe_proxy_name = "p";
  EXPECT_EQ(error(), "config: key \"subscribe_stream_proxy_name\": cannot be combined with "
                     "subscribe_proxy_name, publish_proxy_name or sub_refresh_proxy_name");
}

TEST_F(ConfigValidateTest, SizesMustBePositive) {
  config_.client_queue_max_size = 0;
  EXPECT_EQ(error(), "config: key \"client_queue_max_size\": must be positive, got 0");
  config_.client_queue_max_size = 1;
  config_.channel_max_length = -1;
  EXPECT_EQ(error(), "config: key \"channel_max_length\": must be positive, got -1");
  config_.channel_max_length = 1;
  config_.websocket_message_size_limit = 0;
  EXPECT_EQ(error(), "config: key \"websocket_message_size_limit\": must be positive, got 0");
  config_.websocket_message_size_limit = 1;
  config_.gomaxprocs = -1;
  EXPECT_EQ(error(), "config: key \"gomaxprocs\": must not be negative, got -1");
}

TEST_F(ConfigValidateTest, NegativeHistoryValuesAreRejected) {
  config_.channel.history_size = -1;
  EXPECT_EQ(error(), "config: key \"history_size\": must not be negative, got -1");
  config_.channel.history_size = 0;
  config_.channel.history_ttl = seconds(-5);
  EXPECT_EQ(error(), "config: key \"history_ttl\": must not be negative, got -5s");
}

TEST_F(ConfigValidateTest, NodeInfoMetricsIntervalMustNotBeNegative) {
  config_.node_info_metrics_aggregate_interval = seconds(0);  // Centrifugo's default (60s)
  EXPECT_EQ(error(), "");
  config_.node_info_metrics_aggregate_interval = seconds(-1);
  EXPECT_EQ(error(),
            "config: key \"node_info_metrics_aggregate_interval\": must not be negative, got -1s");
}

TEST_F(ConfigValidateTest, PortMustBeANumberInRange) {
  config_.port = "0";
  EXPECT_EQ(error(), "");
  config_.port = "65535";
  EXPECT_EQ(error(), "");
  config_.port = "65536";
  EXPECT_EQ(error(), "config: key \"port\": invalid port \"65536\" (expected a number 0-65535)");
  config_.port = "";
  EXPECT_EQ(error(), "config: key \"port\": invalid port \"\" (expected a number 0-65535)");
}

TEST_F(ConfigValidateTest, UncompiledChannelRegexIsStillChecked) {
  config_.channel.channel_regex = "[";
  EXPECT_EQ(error().rfind("config: key \"channel_regex\": invalid regex \"[\": ", 0), 0u);
}

}  // namespace
}  // namespace gyre::config
