// Centrifugo v6 configuration (v6-config.md): shape detection, v6 files, v6 environment names,
// v6 semantics, unsupported v6 options, the effective-config dump and the worked examples.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/dump.h"
#include "config/loader.h"

namespace gyre::config {
namespace {

using std::chrono::milliseconds;

// Fixture for v6 loading: a fresh temporary directory for config files per test.
class V6ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gyre-v6-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  LoadResult load_file(const std::string& name, const std::string& text,
                       std::map<std::string, std::string> env = {}) {
    LoadInput input;
    input.config_path = write(name, text);
    input.env = std::move(env);
    return load(input);
  }

  static LoadResult load_env(std::map<std::string, std::string> env) {
    LoadInput input;
    input.env = std::move(env);
    return load(input);
  }

  static std::string error_of(const LoadInput& input) {
    try {
      load(input);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  std::string file_error(const std::string& name, const std::string& text) {
    LoadInput input;
    input.config_path = write(name, text);
    return error_of(input);
  }

  static std::string env_error(std::map<std::string, std::string> env) {
    LoadInput input;
    input.env = std::move(env);
    return error_of(input);
  }

  // The effective configuration as v5 flat JSON: every key Gyre has.
  static std::string dump(const Config& config) {
    return render(config_tree(config, Shape::kV5), Format::kJson);
  }

  std::filesystem::path dir_;
};

// ---- detection (v6-config.md §4)

TEST_F(V6ConfigTest, NestedFileIsReadAsV6InEveryFormat) {
  const std::string json = R"({
    "client": {"token": {"hmac_secret_key": "s"}, "allowed_origins": ["http://a"],
               "ping_interval": "20s"},
    "channel": {"without_namespace": {"presence": true},
                "namespaces": [{"name": "chat", "history_size": 5, "history_ttl": "60s"}]},
    "http_server": {"port": 9001},
    "http_api": {"key": "k"}
  })";
  const std::string yaml =
      "client:\n  token:\n    hmac_secret_key: s\n  allowed_origins: [\"http://a\"]\n"
      "  ping_interval: 20s\n"
      "channel:\n  without_namespace:\n    presence: true\n  namespaces:\n"
      "    - name: chat\n      history_size: 5\n      history_ttl: 60s\n"
      "http_server:\n  port: 9001\nhttp_api:\n  key: k\n";
  const std::string toml =
      "[client]\nallowed_origins = [\"http://a\"]\nping_interval = \"20s\"\n"
      "[client.token]\nhmac_secret_key = \"s\"\n"
      "[channel.without_namespace]\npresence = true\n"
      "[[channel.namespaces]]\nname = \"chat\"\nhistory_size = 5\nhistory_ttl = \"60s\"\n"
      "[http_server]\nport = 9001\n[http_api]\nkey = \"k\"\n";
  std::string first;
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"c.json", json}, {"c.yaml", yaml}, {"c.toml", toml}}) {
    SCOPED_TRACE(name);
    LoadResult r = load_file(name, text);
    EXPECT_EQ(r.shape, Shape::kV6);
    EXPECT_EQ(r.warnings, std::vector<std::string>{});
    EXPECT_EQ(r.config.token.hmac_secret_key, "s");
    EXPECT_EQ(r.config.allowed_origins, std::vector<std::string>{"http://a"});
    EXPECT_EQ(r.config.ping_interval, milliseconds(20000));
    EXPECT_TRUE(r.config.channel.presence);
    ASSERT_EQ(r.config.namespaces.size(), 1u);
    EXPECT_EQ(r.config.namespaces[0].name, "chat");
    EXPECT_EQ(r.config.namespaces[0].options.history_size, 5);
    EXPECT_EQ(r.config.namespaces[0].options.history_ttl, milliseconds(60000));
    EXPECT_EQ(r.config.port, "9001");
    EXPECT_EQ(r.config.api_key, "k");
    if (first.empty()) {
      first = dump(r.config);
    } else {
      EXPECT_EQ(dump(r.config), first);
    }
  }
}

TEST_F(V6ConfigTest, ShapeComesFromTheFileThenFromTheEnvironment) {
  EXPECT_EQ(load_file("c.json", R"({"token_hmac_secret_key": "s"})").shape, Shape::kV5);
  EXPECT_EQ(load_file("c.json", R"({"engine": "memory"})").shape, Shape::kV5);
  EXPECT_EQ(load_file("c.json", R"({"engine": {"type": "memory"}})").shape, Shape::kV6);
  // Shared and unknown keys give no signal: v5, as Gyre always read.
  EXPECT_EQ(load_file("c.json", R"({"pid_file": ""})").shape, Shape::kV5);
  EXPECT_EQ(load_env({}).shape, Shape::kV5);
  // No file signal: v6 names alone make it v6; a v5-only name keeps v5.
  EXPECT_EQ(load_env({{"CENTRIFUGO_CLIENT_INSECURE", "true"}}).shape, Shape::kV5);
  EXPECT_EQ(load_env({{"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "true"}}).shape,
            Shape::kV6);
  EXPECT_EQ(load_env({{"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "true"},
                      {"CENTRIFUGO_PRESENCE", "true"}})
                .shape,
            Shape::kV5);
  // The file decides over the environment; v6 names still apply.
  LoadResult r = load_file("c.json", R"({"presence": true})",
                           {{"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "k"}});
  EXPECT_EQ(r.shape, Shape::kV5);
  EXPECT_EQ(r.config.token.hmac_secret_key, "k");
}

TEST_F(V6ConfigTest, MixedFileIsAnErrorNamingTheFirstKeyOfTheOtherShape) {
  std::string path = write("m.json", R"({"client": {"insecure": true}, "presence": true,
                                         "namespaces": []})");
  LoadInput input;
  input.config_path = path;
  EXPECT_EQ(error_of(input),
            "config: file \"" + path +
                "\": key \"presence\" is a Centrifugo v5 flat key, but the file's first key "
                "\"client\" is a Centrifugo v6 nested block; a file uses one shape "
                "(v6-config.md §4)");
  path = write("m.yaml", "token_hmac_secret_key: s\nadmin: true\nhttp_api:\n  key: k\n");
  input.config_path = path;
  EXPECT_EQ(error_of(input),
            "config: file \"" + path +
                "\": key \"http_api\" is a Centrifugo v6 nested block, but the file's first key "
                "\"token_hmac_secret_key\" is a Centrifugo v5 flat key; a file uses one shape "
                "(v6-config.md §4)");
}

TEST_F(V6ConfigTest, ScalarWhereAV6BlockIsExpectedIsAnError) {
  EXPECT_EQ(file_error("c.json", R"({"client": {"token": "abc"}})"),
            "config: key \"client.token\": expected object, got \"abc\"");
}

TEST_F(V6ConfigTest, V6KeysAreCaseInsensitive) {
  LoadResult r = load_file("c.json", R"({"Client": {"Allowed_Origins": ["x"]}})");
  EXPECT_EQ(r.config.allowed_origins, std::vector<std::string>{"x"});
}

// ---- environment names (v6-config.md §1.3-§1.5)

TEST_F(V6ConfigTest, NestedEnvNamesSetNestedOptions) {
  LoadResult r = load_env({
      {"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "secret"},
      {"CENTRIFUGO_CLIENT_SUBSCRIPTION_TOKEN_ENABLED", "true"},
      {"CENTRIFUGO_CLIENT_SUBSCRIPTION_TOKEN_HMAC_SECRET_KEY", "sub"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "true"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_JOIN_LEAVE", "1"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE", "10"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL", "300s"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOWED_DELTA_TYPES", "fossil"},
      {"CENTRIFUGO_CLIENT_SUBSCRIBE_TO_USER_PERSONAL_CHANNEL_ENABLED", "true"},
      {"CENTRIFUGO_HTTP_SERVER_PORT", "9100"},
      {"CENTRIFUGO_LOG_LEVEL", "debug"},
  });
  EXPECT_EQ(r.warnings, std::vector<std::string>{});
  EXPECT_EQ(r.config.token.hmac_secret_key, "secret");
  EXPECT_TRUE(r.config.separate_subscription_token_config);
  EXPECT_EQ(r.config.subscription_token.hmac_secret_key, "sub");
  EXPECT_TRUE(r.config.channel.presence);
  EXPECT_TRUE(r.config.channel.join_leave);
  EXPECT_EQ(r.config.channel.history_size, 10);
  EXPECT_EQ(r.config.channel.history_ttl, milliseconds(300000));
  EXPECT_EQ(r.config.channel.allowed_delta_types, std::vector<std::string>{"fossil"});
  EXPECT_TRUE(r.config.user_subscribe_to_personal);
  EXPECT_EQ(r.config.port, "9100");
  EXPECT_EQ(r.config.log_level, "debug");
}

TEST_F(V6ConfigTest, EnvListsAreSplitOnOneSpace) {
  LoadResult r = load_env({{"CENTRIFUGO_CLIENT_ALLOWED_ORIGINS", "http://a http://b"}});
  EXPECT_EQ(r.config.allowed_origins, (std::vector<std::string>{"http://a", "http://b"}));
  // Two spaces make an empty item, as in Centrifugo v6.
  r = load_env({{"CENTRIFUGO_CLIENT_ALLOWED_ORIGINS", "a  b"}});
  EXPECT_EQ(r.config.allowed_origins, (std::vector<std::string>{"a", "", "b"}));
  // The v5 name keeps v5's whitespace split.
  r = load_env({{"CENTRIFUGO_ALLOWED_ORIGINS", "a  b"}});
  EXPECT_EQ(r.config.allowed_origins, (std::vector<std::string>{"a", "b"}));
}

TEST_F(V6ConfigTest, NamespacesByNameThenPerItemVariables) {
  LoadResult r = load_env({
      {"CENTRIFUGO_CHANNEL_NAMESPACES", "chat my-ns"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE", "10"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL", "60s"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_JOIN_LEAVE", "true"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_PRESENCE", "true"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_SUBSCRIBE_PROXY_NAME", "default"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_OTHER_PRESENCE", "true"},
  });
  ASSERT_EQ(r.config.namespaces.size(), 2u);
  EXPECT_EQ(r.config.namespaces[0].name, "chat");
  EXPECT_EQ(r.config.namespaces[0].options.history_size, 10);
  EXPECT_EQ(r.config.namespaces[0].options.history_ttl, milliseconds(60000));
  EXPECT_TRUE(r.config.namespaces[0].options.join_leave);
  EXPECT_EQ(r.config.namespaces[1].name, "my-ns");
  EXPECT_TRUE(r.config.namespaces[1].options.presence);
  EXPECT_EQ(r.config.namespaces[1].options.subscribe_proxy_name, "");
  // A variable for a namespace that does not exist is unknown (v6-config.md §1.5).
  EXPECT_EQ(r.warnings,
            std::vector<std::string>{
                "unknown key \"channel_namespaces_other_presence\" (from "
                "CENTRIFUGO_CHANNEL_NAMESPACES_OTHER_PRESENCE)"});
}

TEST_F(V6ConfigTest, NamespacesJsonReplacesAndItemVariablesReachFileNamespaces) {
  LoadResult r = load_file(
      "c.json", R"({"channel": {"namespaces": [{"name": "a1"}, {"name": "b1"}]}})",
      {{"CENTRIFUGO_CHANNEL_NAMESPACES_B1_PRESENCE", "true"}});
  ASSERT_EQ(r.config.namespaces.size(), 2u);
  EXPECT_TRUE(r.config.namespaces[1].options.presence);
  // Names append to the file's namespaces.
  r = load_file("c.json", R"({"channel": {"namespaces": [{"name": "a1"}]}})",
                {{"CENTRIFUGO_CHANNEL_NAMESPACES", "b1"}});
  ASSERT_EQ(r.config.namespaces.size(), 2u);
  EXPECT_EQ(r.config.namespaces[1].name, "b1");
  // A JSON array replaces them; its items use v6 option names.
  r = load_file("c.json", R"({"channel": {"namespaces": [{"name": "a1"}]}})",
                {{"CENTRIFUGO_CHANNEL_NAMESPACES",
                  R"([{"name":"x1","history_size":3,"history_ttl":"30s",
                      "publish_proxy_enabled":true}])"}});
  ASSERT_EQ(r.config.namespaces.size(), 1u);
  EXPECT_EQ(r.config.namespaces[0].name, "x1");
  EXPECT_EQ(r.config.namespaces[0].options.history_size, 3);
  EXPECT_EQ(r.config.namespaces[0].options.history_ttl, milliseconds(30000));
  EXPECT_TRUE(r.config.namespaces[0].options.proxy_publish);
  // Namespaces from the v5 name are reached by v6 item variables too.
  r = load_env({{"CENTRIFUGO_NAMESPACES", R"([{"name":"v5ns"}])"},
                {"CENTRIFUGO_CHANNEL_NAMESPACES_V5NS_PRESENCE", "true"}});
  ASSERT_EQ(r.config.namespaces.size(), 1u);
  EXPECT_TRUE(r.config.namespaces[0].options.presence);
  // An appended duplicate fails validation like a duplicate in a file.
  EXPECT_EQ(env_error({{"CENTRIFUGO_NAMESPACES", R"([{"name":"dup"}])"},
                       {"CENTRIFUGO_CHANNEL_NAMESPACES", "dup"}}),
            "config: key \"namespaces[1].name\": duplicate namespace \"dup\"");
}

TEST_F(V6ConfigTest, ArrayOfObjectsFromEnvIsJson) {
  LoadResult r = load_env({
      {"CENTRIFUGO_CLIENT_CONNECT_CODE_TO_UNIDIRECTIONAL_DISCONNECT_ENABLED", "true"},
      {"CENTRIFUGO_CLIENT_CONNECT_CODE_TO_UNIDIRECTIONAL_DISCONNECT_TRANSFORMS",
       R"([{"code":109,"to":{"code":4501,"reason":"x"}}])"},
      {"CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE_TRANSFORMS",
       R"([{"code":3500,"to":{"status_code":403,"body":"no"}}])"},
  });
  const auto& d = r.config.client_connect_code_to_unidirectional_disconnect;
  EXPECT_TRUE(d.enabled);
  ASSERT_EQ(d.transforms.size(), 1u);
  EXPECT_EQ(d.transforms[0].code, 109u);
  EXPECT_EQ(d.transforms[0].to_code, 4501u);
  EXPECT_EQ(d.transforms[0].to_reason, "x");
  const auto& s = r.config.uni_sse_connect_code_to_http_response;
  EXPECT_FALSE(s.enabled);
  ASSERT_EQ(s.transforms.size(), 1u);
  EXPECT_EQ(s.transforms[0].to_status_code, 403);
  EXPECT_EQ(s.transforms[0].to_body, "no");
  EXPECT_EQ(env_error({{"CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE_TRANSFORMS",
                        R"([{"code":1,"to":{"status_code":7}}])"}}),
            "config: key \"uni_sse.connect_code_to_http_response.transforms[0].to.status_code\": "
            "must be an HTTP status code (100-999) (from "
            "CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE_TRANSFORMS)");
}

TEST_F(V6ConfigTest, UnknownVariablesWarnExceptKubernetesServiceAndVarNames) {
  LoadResult r = load_env({{"CENTRIFUGO_CLIENT_BOGUS", "1"},
                           {"CENTRIFUGO_SERVICE_HOST", "10.0.0.1"},
                           {"CENTRIFUGO_GRPC_PORT_10000_TCP_ADDR", "10.0.0.1"},
                           {"CENTRIFUGO_VAR_SECRET", "x"}});
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "unknown key \"client_bogus\" (from CENTRIFUGO_CLIENT_BOGUS)"});
}

TEST_F(V6ConfigTest, V6NameWinsOverItsV5Twin) {
  LoadResult r = load_env({{"CENTRIFUGO_TOKEN_HMAC_SECRET_KEY", "v5"},
                           {"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "v6"}});
  EXPECT_EQ(r.config.token.hmac_secret_key, "v6");
}

// ---- v6 value rules and semantics (v6-config.md §1.4, §1.8, §1.9)

TEST_F(V6ConfigTest, V6EnvValuesFollowGoRules) {
  EXPECT_EQ(env_error({{"CENTRIFUGO_CLIENT_PING_INTERVAL", "5"}}),
            "config: key \"client.ping_interval\": invalid duration \"5\" (from "
            "CENTRIFUGO_CLIENT_PING_INTERVAL)");
  EXPECT_EQ(env_error({{"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "yes"}}),
            "config: key \"channel.without_namespace.presence\": invalid boolean \"yes\" (from "
            "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE)");
  LoadResult r = load_env({{"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE", "0x20"},
                           {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL", "1m"},
                           {"CENTRIFUGO_CHANNEL_NAMESPACES", "n1"},
                           {"CENTRIFUGO_CHANNEL_NAMESPACES_N1_HISTORY_SIZE", "010"},
                           {"CENTRIFUGO_CHANNEL_NAMESPACES_N1_HISTORY_TTL", "1m"}});
  EXPECT_EQ(r.config.channel.history_size, 32);
  ASSERT_EQ(r.config.namespaces.size(), 1u);
  EXPECT_EQ(r.config.namespaces[0].options.history_size, 8);
  // Names v5 shares with v6 keep v5 rules (decimal only).
  EXPECT_EQ(env_error({{"CENTRIFUGO_CLIENT_CHANNEL_LIMIT", "0x20"}}),
            "config: key \"client_channel_limit\": invalid integer \"0x20\" (from "
            "CENTRIFUGO_CLIENT_CHANNEL_LIMIT)");
  // The v5 name keeps v5 rules: a bare number of seconds.
  EXPECT_EQ(load_env({{"CENTRIFUGO_PING_INTERVAL", "30"}}).config.ping_interval,
            milliseconds(30000));
}

TEST_F(V6ConfigTest, NumberDurationInV6FileIsNanoseconds) {
  EXPECT_EQ(file_error("c.json", R"({"client": {"ping_interval": 3600}})"),
            "config: key \"client.ping_interval\": invalid duration 3600: a number is "
            "nanoseconds in the Centrifugo v6 shape; write a duration string such as \"3600s\"");
  LoadResult r = load_file("c.json", R"({"client": {"ping_interval": 30000000000}})");
  EXPECT_EQ(r.config.ping_interval, milliseconds(30000));
  // A single string where a list is expected is a one-item list.
  r = load_file("c.json", R"({"client": {"allowed_origins": "http://a b"}})");
  EXPECT_EQ(r.config.allowed_origins, std::vector<std::string>{"http://a b"});
}

TEST_F(V6ConfigTest, ZeroValuesTakeTheDefaultOnlyInTheV6Shape) {
  LoadResult v6 = load_file("c.json", R"({"client": {"channel_limit": 0},
      "channel": {"private_prefix": "", "user_boundary": ""},
      "websocket": {"compression_level": 0}, "shutdown": {"timeout": "0s"}})");
  EXPECT_EQ(v6.config.client_channel_limit, 128);
  EXPECT_EQ(v6.config.channel_private_prefix, "$");
  EXPECT_EQ(v6.config.channel_user_boundary, "#");
  EXPECT_EQ(v6.config.websocket_compression_level, 1);
  EXPECT_EQ(v6.config.shutdown_timeout, milliseconds(30000));
  LoadResult v5 = load_file("c.json", R"({"client_channel_limit": 0,
      "channel_private_prefix": "", "channel_user_boundary": ""})");
  EXPECT_EQ(v5.config.client_channel_limit, 0);
  EXPECT_EQ(v5.config.channel_private_prefix, "");
  EXPECT_EQ(v5.config.channel_user_boundary, "");
  // Negative values are kept (pings off).
  LoadResult off = load_file("c.json", R"({"client": {"ping_interval": "-1s",
      "pong_timeout": "-1s"}})");
  EXPECT_EQ(off.config.ping_interval, milliseconds(-1000));
}

TEST_F(V6ConfigTest, RateLimitWithoutConnectionLimitIsReported) {
  LoadResult r = load_file("c.json", R"({"client": {"connection_rate_limit": 5}})");
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "key \"client.connection_rate_limit\" takes effect only together "
                            "with \"client.connection_limit\" in this version of Gyre "
                            "(Centrifugo v5 behaviour)"});
  r = load_file("c.json", R"({"client": {"connection_rate_limit": 5, "connection_limit": 9}})");
  EXPECT_EQ(r.warnings, std::vector<std::string>{});
}

TEST_F(V6ConfigTest, ProxyNameDefaultIsTheUnnamedProxy) {
  LoadResult r = load_file("c.json", R"({"channel": {"without_namespace":
      {"subscribe_proxy_enabled": true, "subscribe_proxy_name": "default"}}})");
  EXPECT_TRUE(r.config.channel.proxy_subscribe);
  EXPECT_EQ(r.config.channel.subscribe_proxy_name, "");
}

TEST_F(V6ConfigTest, DottedFlagsAreV6OptionPaths) {
  LoadInput input;
  input.flags = {{"http_server.port", "9300"}, {"client.insecure", "true"},
                 {"admin.enabled", "true"}};
  LoadResult r = load(input);
  EXPECT_EQ(r.config.port, "9300");
  EXPECT_TRUE(r.config.client_insecure);
  EXPECT_TRUE(r.config.admin);
  EXPECT_EQ(r.warnings, std::vector<std::string>{});
  input.flags = {{"broker.enabled", "true"}};
  EXPECT_EQ(error_of(input),
            "config: key \"broker.enabled\": true is not supported yet; supported: false (from "
            "flag --broker.enabled)");
  input.flags = {{"client.bogus", "1"}};
  EXPECT_EQ(error_of(input), "config: key \"client.bogus\": unknown option (from flag "
                             "--client.bogus)");
}

// ---- options Gyre does not implement

TEST_F(V6ConfigTest, UnsupportedV6OptionsWarnWithTheirPath) {
  LoadResult r = load_file("c.json", R"({
    "admin": {"enabled": true, "password": "p", "web_path": "/srv/ui"},
    "swagger": {"enabled": true},
    "channel": {"without_namespace": {"allow_tags_filter": true},
                "namespaces": [{"name": "ns", "subscription_type": "map"}]},
    "client": {"bogus": 1}
  })");
  EXPECT_EQ(r.warnings,
            (std::vector<std::string>{
                "key \"admin.web_path\" is not supported by this version of Gyre and is ignored",
                "key \"swagger.enabled\" is not supported by this version of Gyre and is ignored",
                "key \"channel.without_namespace.allow_tags_filter\" is not supported by this "
                "version of Gyre and is ignored",
                "key \"channel.namespaces[0].subscription_type\" is not supported by this version "
                "of Gyre and is ignored",
                "unknown key \"client.bogus\""}));
  r = load_env({{"CENTRIFUGO_GRAPHITE_ENABLED", "true"}});
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "key \"graphite\" is not supported by this version of Gyre and is "
                            "ignored (from CENTRIFUGO_GRAPHITE_ENABLED)"});
  r = load_env({{"CENTRIFUGO_PROMETHEUS_ENABLED", "true"},
                {"CENTRIFUGO_PROMETHEUS_HANDLER_PREFIX", "/m"}});
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(r.config.prometheus);
  EXPECT_EQ(r.config.prometheus_handler_prefix, "/m");
}

TEST_F(V6ConfigTest, SwitchesWhoseLossWouldChangeBehaviourAreErrors) {
  EXPECT_EQ(file_error("c.json", R"({"http_server": {"h2c_external": true}})"),
            "config: key \"http_server.h2c_external\": true is not supported yet; supported: "
            "false");
  EXPECT_EQ(env_error({{"CENTRIFUGO_BROKER_ENABLED", "true"}}),
            "config: key \"broker.enabled\": true is not supported yet; supported: false (from "
            "CENTRIFUGO_BROKER_ENABLED)");
  EXPECT_EQ(file_error("c.yaml", "presence_manager:\n  enabled: true\n  type: redis\n"),
            "config: key \"presence_manager.enabled\": true is not supported yet; supported: "
            "false");
  EXPECT_EQ(file_error("c.json", R"({"engine": {"type": "tarantool"}})"),
            "config: key \"engine\": \"tarantool\" is not supported yet; supported: memory, "
            "redis");
  // false is fine.
  EXPECT_EQ(load_file("c.json", R"({"http_server": {"tls": {"enabled": false}}})").shape,
            Shape::kV6);
}

// ---- worked examples (v6-config.md §6), the dump and the CLI helpers

constexpr const char* kExampleV5 = R"({
  "token_hmac_secret_key": "my-secret",
  "presence": true,
  "history_size": 10,
  "history_ttl": "300s",
  "namespaces": [
    {"name": "chat", "history_size": 50, "history_ttl": "600s", "join_leave": true}
  ],
  "engine": "redis",
  "redis_address": ["redis://redis1:6379", "redis://redis2:6379"],
  "admin": true,
  "admin_password": "admin-password",
  "admin_secret": "admin-secret",
  "prometheus": true
})";

constexpr const char* kExampleV6 = R"({
  "client": {"token": {"hmac_secret_key": "my-secret"}},
  "channel": {
    "without_namespace": {"presence": true, "history_size": 10, "history_ttl": "300s"},
    "namespaces": [
      {"name": "chat", "history_size": 50, "history_ttl": "600s", "join_leave": true}
    ]
  },
  "engine": {"type": "redis",
             "redis": {"address": ["redis://redis1:6379", "redis://redis2:6379"]}},
  "admin": {"enabled": true, "password": "admin-password", "secret": "admin-secret"},
  "prometheus": {"enabled": true}
})";

std::map<std::string, std::string> example_env(bool json_namespaces) {
  std::map<std::string, std::string> env = {
      {"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "my-secret"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "true"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE", "10"},
      {"CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL", "300s"},
      {"CENTRIFUGO_ENGINE_TYPE", "redis"},
      {"CENTRIFUGO_ENGINE_REDIS_ADDRESS", "redis://redis1:6379 redis://redis2:6379"},
      {"CENTRIFUGO_ADMIN_ENABLED", "true"},
      {"CENTRIFUGO_ADMIN_PASSWORD", "admin-password"},
      {"CENTRIFUGO_ADMIN_SECRET", "admin-secret"},
      {"CENTRIFUGO_PROMETHEUS_ENABLED", "true"},
  };
  if (json_namespaces) {
    env["CENTRIFUGO_CHANNEL_NAMESPACES"] =
        R"([{"name":"chat","history_size":50,"history_ttl":"600s","join_leave":true}])";
  } else {
    env["CENTRIFUGO_CHANNEL_NAMESPACES"] = "chat";
    env["CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE"] = "50";
    env["CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL"] = "600s";
    env["CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_JOIN_LEAVE"] = "true";
  }
  return env;
}

TEST_F(V6ConfigTest, WorkedExamplesLoadToTheSameEffectiveConfiguration) {
  LoadInput v5;
  v5.config_path = write("v5.json", kExampleV5);
  v5.validate = false;  // the examples use Redis, which Gyre does not have yet
  LoadInput v6 = v5;
  v6.config_path = write("v6.json", kExampleV6);
  LoadInput env_lines;
  env_lines.env = example_env(false);
  env_lines.validate = false;
  LoadInput env_json = env_lines;
  env_json.env = example_env(true);

  LoadResult a = load(v5);
  LoadResult b = load(v6);
  LoadResult c = load(env_lines);
  LoadResult d = load(env_json);
  EXPECT_EQ(a.shape, Shape::kV5);
  EXPECT_EQ(b.shape, Shape::kV6);
  EXPECT_EQ(c.shape, Shape::kV6);
  EXPECT_EQ(d.shape, Shape::kV6);
  EXPECT_EQ(a.config.engine, "redis");
  EXPECT_EQ(a.config.token.hmac_secret_key, "my-secret");
  EXPECT_TRUE(a.config.admin);
  EXPECT_EQ(a.config.admin_password, "admin-password");
  EXPECT_EQ(a.config.admin_secret, "admin-secret");
  ASSERT_EQ(a.config.namespaces.size(), 1u);
  EXPECT_EQ(a.config.namespaces[0].options.history_ttl, milliseconds(600000));
  const std::string expected = dump(a.config);
  EXPECT_EQ(dump(b.config), expected);
  EXPECT_EQ(dump(c.config), expected);
  EXPECT_EQ(dump(d.config), expected);
  EXPECT_EQ(a.config.redis_address,
            (std::vector<std::string>{"redis://redis1:6379", "redis://redis2:6379"}));
  // Validated, all four are accepted: two Redis shards (client-side sharding).
  for (LoadInput* in : {&v5, &v6, &env_lines, &env_json}) {
    in->validate = true;
    EXPECT_EQ(error_of(*in), "");
  }
}

TEST_F(V6ConfigTest, DumpReadsBackToTheSameConfigInEveryFormatAndShape) {
  LoadResult base = load_file("c.json", R"({
    "client": {"token": {"hmac_secret_key": "k\"q"}, "allowed_origins": ["http://a"],
               "ping_interval": "20s", "channel_limit": 7,
               "connect_code_to_unidirectional_disconnect":
                 {"enabled": true, "transforms": [{"code": 109, "to": {"code": 4501,
                                                                       "reason": "r"}}]}},
    "channel": {"without_namespace": {"presence": true, "history_size": 3,
                                      "history_ttl": "30s", "allowed_delta_types": ["fossil"]},
                "namespaces": [{"name": "chat", "join_leave": true}]},
    "http_server": {"port": 9001, "internal_port": "9002"}, "log": {"level": "debug"}
  })");
  const std::string expected = dump(base.config);
  // v6 types: port is an integer, internal_port still a string (v6-config.md §2.4).
  const std::string v6_json = render(config_tree(base.config, Shape::kV6), Format::kJson);
  EXPECT_NE(v6_json.find("\"port\": 9001,"), std::string::npos) << v6_json;
  EXPECT_NE(v6_json.find("\"internal_port\": \"9002\""), std::string::npos) << v6_json;
  for (Shape shape : {Shape::kV6, Shape::kV5}) {
    for (const auto& [name, format] : std::vector<std::pair<std::string, Format>>{
             {"out.json", Format::kJson}, {"out.yaml", Format::kYaml},
             {"out.toml", Format::kToml}}) {
      SCOPED_TRACE(name + (shape == Shape::kV6 ? " v6" : " v5"));
      EXPECT_EQ(format_for_path(name), format);
      LoadResult back = load_file(name, render(config_tree(base.config, shape), format));
      EXPECT_EQ(back.shape, shape);
      EXPECT_EQ(back.warnings, std::vector<std::string>{});
      EXPECT_EQ(dump(back.config), expected);
    }
  }
}

TEST_F(V6ConfigTest, DefaultEnvListsEveryV6VariableWithItsDefault) {
  Config defaults;
  defaults.namespaces.push_back({"my-ns", {}});
  std::string env = render_env(defaults);
  for (std::string_view line : {
           "CENTRIFUGO_CHANNEL_NAMESPACES=\"my-ns\"\n",
           "CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_NAME=\"my-ns\"\n",
           "CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_PRESENCE=false\n",
           "CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_SUBSCRIBE_PROXY_NAME=\"default\"\n",
           "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL=0s\n",
           "CENTRIFUGO_CLIENT_ALLOWED_ORIGINS=\"\"\n",
           "CENTRIFUGO_CLIENT_CHANNEL_LIMIT=128\n",
           "CENTRIFUGO_CLIENT_CONNECT_CODE_TO_UNIDIRECTIONAL_DISCONNECT_TRANSFORMS=\"[]\"\n",
           "CENTRIFUGO_CLIENT_PING_INTERVAL=25s\n",
           "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY=\"\"\n",
           "CENTRIFUGO_CHANNEL_HISTORY_META_TTL=720h0m0s\n",
           "CENTRIFUGO_HTTP_SERVER_PORT=8000\n",
           "CENTRIFUGO_LOG_LEVEL=\"info\"\n",
       }) {
    EXPECT_NE(env.find(line), std::string::npos) << line;
  }
  // Sorted, one line per variable, nothing without a v6 name (gomaxprocs).
  EXPECT_EQ(env.find("GOMAXPROCS"), std::string::npos);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < env.size()) {
    size_t end = env.find('\n', start);
    lines.push_back(env.substr(start, end - start));
    start = end + 1;
  }
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));
  // Every variable is one load() reads without a warning (values unquoted for the test).
  std::map<std::string, std::string> vars;
  for (const auto& line : lines) {
    size_t eq = line.find('=');
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"' &&
        value.find("\" \"") == std::string::npos) {
      value = value.substr(1, value.size() - 2);
      if (value.find("\\\"") != std::string::npos) {
        continue;  // JSON inside a quoted value; covered by ArrayOfObjectsFromEnvIsJson
      }
    }
    vars[line.substr(0, eq)] = value;
  }
  LoadInput input;
  input.env = vars;
  LoadResult r = load(input);
  EXPECT_EQ(r.warnings, std::vector<std::string>{});
  EXPECT_EQ(r.shape, Shape::kV6);
  ASSERT_EQ(r.config.namespaces.size(), 1u);
  EXPECT_EQ(r.config.namespaces[0].name, "my-ns");
}

TEST_F(V6ConfigTest, GeneratedV6ConfigLoadsBackAsV6) {
  for (std::string name : {"gen.json", "gen.yaml", "gen.toml"}) {
    SCOPED_TRACE(name);
    LoadResult r = load_file(name, generate_config(name, Shape::kV6));
    EXPECT_EQ(r.shape, Shape::kV6);
    EXPECT_EQ(r.config.token.hmac_secret_key.size(), 36u);
    EXPECT_EQ(r.config.api_key.size(), 36u);
    EXPECT_EQ(r.warnings, std::vector<std::string>{});
    EXPECT_FALSE(r.config.admin);
    EXPECT_EQ(r.config.admin_password.size(), 36u);
    EXPECT_EQ(r.config.admin_secret.size(), 36u);
  }
}

TEST_F(V6ConfigTest, ReloadOfAV6FileTakesTheNewChannelRulesAndTokens) {
  std::string path = write("c.yaml",
                           "client:\n  token:\n    hmac_secret_key: old\n"
                           "http_server:\n  port: 9001\n");
  LoadInput input;
  input.config_path = path;
  LoadResult running = load(input);
  write("c.yaml",
        "client:\n  token:\n    hmac_secret_key: new\n"
        "channel:\n  namespaces:\n    - name: chat\n      presence: true\n"
        "http_server:\n  port: 9002\n");
  LoadResult fresh = load(input);
  Config next = apply_reload(running.config, fresh.config);
  EXPECT_EQ(next.token.hmac_secret_key, "new");
  ASSERT_EQ(next.namespaces.size(), 1u);
  EXPECT_TRUE(next.namespaces[0].options.presence);
  EXPECT_EQ(next.port, "9001");  // needs a restart, as in Centrifugo
}

}  // namespace
}  // namespace gyre::config
