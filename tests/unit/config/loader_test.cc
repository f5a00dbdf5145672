#include "config/loader.h"

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "config/schema.h"

namespace gyre::config {
namespace {

using std::chrono::milliseconds;

// gmock is not linked into the unit tests; a substring check with a readable failure.
::testing::AssertionResult contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part
                                       << "\"";
}

// Fixture for load(): each test gets a fresh temporary directory for config files.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gyre-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  LoadResult load_file(const std::string& name, const std::string& text) {
    LoadInput input;
    input.config_path = write(name, text);
    return load(input);
  }

  // The ConfigError message load() throws for `input`, or "" if it does not throw.
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

  static bool has_warning(const LoadResult& r, std::string_view text) {
    for (const auto& w : r.warnings) {
      if (w.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  static std::string hostname() {
    std::array<char, 256> buf{};
    gethostname(buf.data(), buf.size() - 1);
    return buf.data();
  }

  std::filesystem::path dir_;
};

TEST_F(LoaderTest, DefaultsApplyWithoutAnySource) {
  LoadResult r = load(LoadInput{});
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.config.port, "8000");
  EXPECT_EQ(r.config.name, hostname() + "_8000");
  EXPECT_EQ(r.config.engine, "memory");
  EXPECT_EQ(r.config.log_level, "info");
  EXPECT_EQ(r.config.ping_interval, milliseconds(25000));
  EXPECT_EQ(r.config.pong_timeout, milliseconds(8000));
  EXPECT_EQ(r.config.client_queue_max_size, 1048576);
  EXPECT_EQ(r.config.global_history_meta_ttl, milliseconds(720LL * 3600 * 1000));
  EXPECT_TRUE(r.config.namespaces.empty());
}

TEST_F(LoaderTest, MissingFileIsOnlyAWarning) {
  LoadInput input;
  input.config_path = (dir_ / "absent.json").string();
  input.config_path_explicit = true;
  LoadResult r = load(input);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "config file \"" + input.config_path + "\" not found, using defaults");
  EXPECT_EQ(r.config.port, "8000");
}

TEST_F(LoaderTest, FlagsOverrideEnvOverrideFileOverrideDefaults) {
  LoadInput input;
  input.config_path = write("config.json", R"({
    "port": "8001", "api_key": "from-file", "client_channel_limit": 10,
    "ping_interval": "30s", "client_insecure": false
  })");
  input.env = {{"CENTRIFUGO_PORT", "8002"},
               {"CENTRIFUGO_API_KEY", "from-env"},
               {"CENTRIFUGO_CLIENT_INSECURE", "true"},
               {"HOME", "/root"}};
  input.flags = {{"port", "8003"}};
  LoadResult r = load(input);
  EXPECT_EQ(r.config.port, "8003");                       // flag
  EXPECT_EQ(r.config.api_key, "from-env");                // env over file
  EXPECT_TRUE(r.config.client_insecure);                  // env over file
  EXPECT_EQ(r.config.client_channel_limit, 10);           // file over default
  EXPECT_EQ(r.config.ping_interval, milliseconds(30000));  // file over default
  EXPECT_EQ(r.config.pong_timeout, milliseconds(8000));   // default
  EXPECT_EQ(r.config.name, hostname() + "_8003");
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(LoaderTest, EmptyEnvValuesAreUnset) {
  LoadInput input;
  input.config_path = write("config.json", R"({"api_key": "from-file"})");
  input.env = {{"CENTRIFUGO_API_KEY", ""}, {"CENTRIFUGO_PORT", ""}};
  LoadResult r = load(input);
  EXPECT_EQ(r.config.api_key, "from-file");
  EXPECT_EQ(r.config.port, "8000");
}

void expect_sample(const Config& c) {
  EXPECT_EQ(c.name, "node1");
  EXPECT_EQ(c.port, "9000");
  EXPECT_TRUE(c.client_insecure);
  EXPECT_EQ(c.client_channel_limit, 64);
  EXPECT_EQ(c.ping_interval, milliseconds(20000));
  EXPECT_EQ(c.pong_timeout, milliseconds(5000));
  EXPECT_EQ(c.client_expired_close_delay, milliseconds(90000));
  EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"http://a.example", "*"}));
  EXPECT_EQ(c.token.hmac_secret_key, "secret");
  EXPECT_EQ(c.subscription_token.audience, "aud");
  EXPECT_TRUE(c.channel.presence);
  EXPECT_EQ(c.channel.history_size, 10);
  EXPECT_EQ(c.channel.history_ttl, milliseconds(300000));
  ASSERT_EQ(c.namespaces.size(), 2u);
  EXPECT_EQ(c.namespaces[0].name, "chat");
  EXPECT_TRUE(c.namespaces[0].options.allow_subscribe_for_client);
  EXPECT_EQ(c.namespaces[0].options.history_size, 100);
  EXPECT_EQ(c.namespaces[0].options.history_ttl, milliseconds(60000));
  EXPECT_EQ(c.namespaces[0].options.allowed_delta_types, std::vector<std::string>{"fossil"});
  EXPECT_FALSE(c.namespaces[0].options.presence);  // no inheritance from the top level
  EXPECT_EQ(c.namespaces[1].name, "dialogs.v2");
  EXPECT_EQ(c.namespaces[1].options.channel_regex, "^[a-z]+$");
  ASSERT_NE(c.namespaces[1].options.channel_regex_compiled, nullptr);
  EXPECT_EQ(c.namespaces[1].options.channel_regex_compiled->pattern(), "^[a-z]+$");
  EXPECT_EQ(c.channel.channel_regex_compiled, nullptr);
}

TEST_F(LoaderTest, JsonYamlAndTomlLoadTheSameConfigIdentically) {
  LoadResult json = load_file("config.json", R"({
    "name": "node1",
    "port": 9000,
    "client_insecure": true,
    "client_channel_limit": 64,
    "ping_interval": "20s",
    "pong_timeout": "5s",
    "client_expired_close_delay": "1m30s",
    "allowed_origins": ["http://a.example", "*"],
    "token_hmac_secret_key": "secret",
    "subscription_token_audience": "aud",
    "presence": true,
    "history_size": 10,
    "history_ttl": "300s",
    "namespaces": [
      {"name": "chat", "allow_subscribe_for_client": true, "history_size": 100,
       "history_ttl": 60, "allowed_delta_types": ["fossil"]},
      {"name": "dialogs.v2", "channel_regex": "^[a-z]+$"}
    ]
  })");
  LoadResult yaml = load_file("config.yaml", R"(
name: node1
port: 9000
client_insecure: true
client_channel_limit: 64
ping_interval: 20s
pong_timeout: "5s"
client_expired_close_delay: 1m30s
allowed_origins:
  - http://a.example
  - "*"
token_hmac_secret_key: secret
subscription_token_audience: aud
presence: true
history_size: 10
history_ttl: 300s
namespaces:
  - name: chat
    allow_subscribe_for_client: true
    history_size: 100
    history_ttl: 60
    allowed_delta_types: [fossil]
  - name: dialogs.v2
    channel_regex: "^[a-z]+$"
)");
  LoadResult toml = load_file("config.toml", R"(
name = "node1"
port = 9000
client_insecure = true
client_channel_limit = 64
ping_interval = "20s"
pong_timeout = "5s"
client_expired_close_delay = "1m30s"
allowed_origins = ["http://a.example", "*"]
token_hmac_secret_key = "secret"
subscription_token_audience = "aud"
presence = true
history_size = 10
history_ttl = "300s"

[[namespaces]]
name = "chat"
allow_subscribe_for_client = true
history_size = 100
history_ttl = 60
allowed_delta_types = ["fossil"]

[[namespaces]]
name = "dialogs.v2"
channel_regex = "^[a-z]+$"
)");
  for (const LoadResult* r : {&json, &yaml, &toml}) {
    SCOPED_TRACE(r == &json ? "json" : r == &yaml ? "yaml" : "toml");
    EXPECT_TRUE(r->warnings.empty());
    expect_sample(r->config);
  }
}

TEST_F(LoaderTest, UnknownExtensionIsReadAsJson) {
  LoadResult r = load_file("config.conf", R"({"api_key": "k"})");
  EXPECT_EQ(r.config.api_key, "k");
}

TEST_F(LoaderTest, UppercaseExtensionSelectsTheFormat) {
  LoadResult r = load_file("config.YML", "api_key: k\n");
  EXPECT_EQ(r.config.api_key, "k");
}

TEST_F(LoaderTest, EmptyYamlFileMeansDefaults) {
  LoadResult r = load_file("config.yaml", "");
  EXPECT_EQ(r.config.port, "8000");
}

TEST_F(LoaderTest, JsonParseErrorNamesFileAndPosition) {
  std::string error = file_error("bad.json", "{\n  \"port\": \"8000\",\n  \"api_key\": }\n");
  EXPECT_TRUE(contains(error, "config: file \""));
  EXPECT_TRUE(contains(error, "bad.json\": invalid JSON at line 3, column 14: "));
}

TEST_F(LoaderTest, YamlParseErrorNamesFileAndPosition) {
  std::string error = file_error("bad.yaml", "port: 8000\napi_key: [a, b\n");
  EXPECT_TRUE(contains(error, "bad.yaml\": invalid YAML at line 3, column 1: "));
}

TEST_F(LoaderTest, TomlParseErrorNamesFileAndPosition) {
  std::string error = file_error("bad.toml", "port = 8000\napi_key = \n");
  EXPECT_TRUE(contains(error, "bad.toml\": invalid TOML at line 2, column "));
}

TEST_F(LoaderTest, TopLevelMustBeAnObject) {
  EXPECT_TRUE(contains(file_error("list.json", "[1, 2]"),
                       "list.json\": top level must be an object, got array"));
}

TEST_F(LoaderTest, IntegerDurationMeansSeconds) {
  LoadResult r = load_file("config.json", R"({"history_size": 5, "history_ttl": 300,
                                              "ping_interval": 40})");
  EXPECT_EQ(r.config.channel.history_ttl, milliseconds(300000));
  EXPECT_EQ(r.config.ping_interval, milliseconds(40000));

  LoadInput input;
  input.env = {{"CENTRIFUGO_CLIENT_STALE_CLOSE_DELAY", "15"}};
  EXPECT_EQ(load(input).config.client_stale_close_delay, milliseconds(15000));
}

TEST_F(LoaderTest, BadDurationNamesTheKey) {
  EXPECT_EQ(file_error("config.json", R"({"ping_interval": "abc"})"),
            "config: key \"ping_interval\": invalid duration \"abc\"");
  EXPECT_EQ(file_error("config.json", R"({"ping_interval": true})"),
            "config: key \"ping_interval\": expected duration string, got true");
  EXPECT_EQ(env_error({{"CENTRIFUGO_PONG_TIMEOUT", "5 s"}}),
            "config: key \"pong_timeout\": invalid duration \"5 s\" "
            "(from CENTRIFUGO_PONG_TIMEOUT)");
}

TEST_F(LoaderTest, WrongTypeInNamespaceNamesThePath) {
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [
      {"name": "ok"}, {"name": "chat", "history_size": "ten"}]})"),
            "config: key \"namespaces[1].history_size\": expected integer, got \"ten\"");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [{"name": "chat", "presence": 1}]})"),
            "config: key \"namespaces[0].presence\": expected boolean, got 1");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": ["chat"]})"),
            "config: key \"namespaces[0]\": expected object, got string");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": {"name": "chat"}})"),
            "config: key \"namespaces\": expected array of objects, got object");
}

TEST_F(LoaderTest, WrongFileTypesNameTheKey) {
  EXPECT_EQ(file_error("config.json", R"({"client_insecure": "true"})"),
            "config: key \"client_insecure\": expected boolean, got \"true\"");
  EXPECT_EQ(file_error("config.json", R"({"client_channel_limit": 1.5})"),
            "config: key \"client_channel_limit\": expected integer, got 1.5");
  EXPECT_EQ(file_error("config.json", R"({"api_key": 42})"),
            "config: key \"api_key\": expected string, got 42");
  EXPECT_EQ(file_error("config.json", R"({"allowed_origins": ["a", 1]})"),
            "config: key \"allowed_origins[1]\": expected string, got 1");
  EXPECT_EQ(file_error("config.json", R"({"gomaxprocs": 3000000000})"),
            "config: key \"gomaxprocs\": integer 3000000000 out of range");
}

TEST_F(LoaderTest, IntegralNumbersAreIntegers) {
  LoadResult r = load_file("config.json", R"({"client_queue_max_size": 2e6})");
  EXPECT_EQ(r.config.client_queue_max_size, 2000000);
  EXPECT_EQ(file_error("config.json", R"({"client_queue_max_size": 1e300})"),
            "config: key \"client_queue_max_size\": expected integer, got 1e+300");
  EXPECT_EQ(file_error("config.yaml", "client_queue_max_size: .nan\n"),
            "config: key \"client_queue_max_size\": expected integer, got nan");
}

TEST_F(LoaderTest, DirectoryAsConfigFileIsAnError) {
  LoadInput input;
  input.config_path = dir_.string();
  EXPECT_EQ(error_of(input), "config: file \"" + dir_.string() + "\": not a regular file");
}

TEST_F(LoaderTest, NullValuesKeepDefaults) {
  LoadResult r = load_file("config.yaml", "api_key:\nport: ~\n");
  EXPECT_EQ(r.config.api_key, "");
  EXPECT_EQ(r.config.port, "8000");
}

TEST_F(LoaderTest, EnvBooleansUseGoParseBool) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    LoadInput input;
    input.env = {{"CENTRIFUGO_CLIENT_INSECURE", std::string(t)}};
    EXPECT_TRUE(load(input).config.client_insecure) << t;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    LoadInput input;
    input.env = {{"CENTRIFUGO_CLIENT_INSECURE", std::string(f)}};
    input.config_path = write("config.json", R"({"client_insecure": true})");
    EXPECT_FALSE(load(input).config.client_insecure) << f;
  }
  EXPECT_EQ(env_error({{"CENTRIFUGO_CLIENT_INSECURE", "yes"}}),
            "config: key \"client_insecure\": invalid boolean \"yes\" "
            "(from CENTRIFUGO_CLIENT_INSECURE)");
}

TEST_F(LoaderTest, EnvIntegersAndListsAreParsed) {
  LoadInput input;
  input.env = {{"CENTRIFUGO_CLIENT_CHANNEL_LIMIT", "42"},
               {"CENTRIFUGO_ALLOWED_ORIGINS", " http://a.example  http://b.example "},
               {"CENTRIFUGO_TOKEN_AUDIENCE", "aud"},
               {"CENTRIFUGO_SUBSCRIPTION_TOKEN_HMAC_SECRET_KEY", "sub-secret"},
               {"CENTRIFUGO_HISTORY_SIZE", "3"},
               {"CENTRIFUGO_HISTORY_TTL", "1m"}};
  Config c = load(input).config;
  EXPECT_EQ(c.client_channel_limit, 42);
  EXPECT_EQ(c.allowed_origins,
            (std::vector<std::string>{"http://a.example", "http://b.example"}));
  EXPECT_EQ(c.token.audience, "aud");
  EXPECT_EQ(c.subscription_token.hmac_secret_key, "sub-secret");
  EXPECT_EQ(c.channel.history_size, 3);
  EXPECT_EQ(c.channel.history_ttl, milliseconds(60000));
  EXPECT_EQ(env_error({{"CENTRIFUGO_CLIENT_CHANNEL_LIMIT", "12a"}}),
            "config: key \"client_channel_limit\": invalid integer \"12a\" "
            "(from CENTRIFUGO_CLIENT_CHANNEL_LIMIT)");
}

TEST_F(LoaderTest, UniWebSocketOptionsAreKeysOfTheirOwn) {
  // reference.md §1.9: uni_websocket mirrors every WebSocket option with the uni_ prefix.
  Config d = load(LoadInput{}).config;
  EXPECT_FALSE(d.uni_websocket_compression);
  EXPECT_EQ(d.uni_websocket_compression_min_size, 0);
  EXPECT_EQ(d.uni_websocket_compression_level, 1);
  EXPECT_EQ(d.uni_websocket_write_timeout, milliseconds(1000));
  EXPECT_EQ(d.uni_websocket_message_size_limit, 65536);
  LoadInput input;
  input.config_path = write("config.json", R"({"websocket_compression": true,
    "uni_websocket_compression": true, "uni_websocket_compression_min_size": 100,
    "uni_websocket_compression_level": 6, "uni_websocket_write_timeout": "3s",
    "uni_websocket_read_buffer_size": 512, "uni_websocket_write_buffer_size": 512,
    "uni_websocket_use_write_buffer_pool": true})");
  input.env = {{"CENTRIFUGO_UNI_WEBSOCKET_COMPRESSION_LEVEL", "9"}};
  LoadResult r = load(input);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_TRUE(r.config.uni_websocket_compression);
  EXPECT_EQ(r.config.uni_websocket_compression_min_size, 100);
  EXPECT_EQ(r.config.uni_websocket_compression_level, 9);
  EXPECT_EQ(r.config.uni_websocket_write_timeout, milliseconds(3000));
  EXPECT_EQ(r.config.uni_websocket_read_buffer_size, 512);
  EXPECT_TRUE(r.config.uni_websocket_use_write_buffer_pool);
  // The bidirectional keys keep their own values.
  EXPECT_TRUE(r.config.websocket_compression);
  EXPECT_EQ(r.config.websocket_compression_level, 1);
  EXPECT_EQ(r.config.websocket_compression_min_size, 0);
  EXPECT_EQ(r.config.websocket_write_timeout, milliseconds(1000));
}

TEST_F(LoaderTest, FlagValuesAreParsedLikeEnv) {
  LoadInput input;
  input.flags = {{"client_insecure", "true"}, {"ping_interval", "40s"}, {"name", "n1"}};
  Config c = load(input).config;
  EXPECT_TRUE(c.client_insecure);
  EXPECT_EQ(c.ping_interval, milliseconds(40000));
  EXPECT_EQ(c.name, "n1");
  input.flags = {{"client_insecure", "maybe"}};
  EXPECT_EQ(error_of(input),
            "config: key \"client_insecure\": invalid boolean \"maybe\" "
            "(from flag --client_insecure)");
}

TEST_F(LoaderTest, NamespacesFromEnvJsonReplaceFileNamespaces) {
  LoadInput input;
  input.config_path = write("config.json", R"({"namespaces": [{"name": "file_ns"}]})");
  input.env = {{"CENTRIFUGO_NAMESPACES",
                R"([{"name": "chat", "presence": true, "history_size": 5, "history_ttl": "30s"},
                    {"name": "news"}])"}};
  Config c = load(input).config;
  ASSERT_EQ(c.namespaces.size(), 2u);
  EXPECT_EQ(c.namespaces[0].name, "chat");
  EXPECT_TRUE(c.namespaces[0].options.presence);
  EXPECT_EQ(c.namespaces[0].options.history_size, 5);
  EXPECT_EQ(c.namespaces[0].options.history_ttl, milliseconds(30000));
  EXPECT_EQ(c.namespaces[1].name, "news");
}

TEST_F(LoaderTest, NamespacesEnvMustBeJson) {
  std::string error = env_error({{"CENTRIFUGO_NAMESPACES", "[chat]"}});
  EXPECT_EQ(error.rfind("config: key \"namespaces\": invalid JSON at line 1, column 2: ", 0), 0u)
      << error;
  EXPECT_TRUE(contains(error, " (from CENTRIFUGO_NAMESPACES)"));
  EXPECT_EQ(env_error({{"CENTRIFUGO_NAMESPACES", R"([{"name": "chat", "presence": "1"}])"}}),
            "config: key \"namespaces[0].presence\": expected boolean, got \"1\" "
            "(from CENTRIFUGO_NAMESPACES)");
}

TEST_F(LoaderTest, UnknownKeysWarn) {
  LoadInput input;
  input.config_path = write("config.json", R"({"foo": 1,
      "namespaces": [{"name": "chat", "bar": true}]})");
  input.env = {{"CENTRIFUGO_BAZ", "x"}};
  LoadResult r = load(input);
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0], "unknown key \"foo\"");
  EXPECT_EQ(r.warnings[1], "unknown key \"namespaces[0].bar\"");
  EXPECT_EQ(r.warnings[2], "unknown key \"baz\" (from CENTRIFUGO_BAZ)");
}

TEST_F(LoaderTest, UnsupportedCentrifugoKeysWarnAndAreIgnored) {
  LoadInput input;
  input.config_path = write("config.json", R"({"admin_web_path": "/ui",
      "graphite": true, "proxy_grpc_compression": true,
      "proxy_cache_empty": true,
      "namespaces": [{"name": "chat", "subscribe_cel": "true"}]})");
  input.env = {{"CENTRIFUGO_NATS_RAW_MODE_ENABLED", "true"}};
  LoadResult r = load(input);
  std::vector<std::string> expected = {
      "key \"admin_web_path\" is not supported by this version of Gyre and is ignored",
      "key \"graphite\" is not supported by this version of Gyre and is ignored",
      "key \"proxy_grpc_compression\" is not supported by this version of Gyre and is ignored",
      "key \"proxy_cache_empty\" is not supported by this version of Gyre and is ignored",
      "key \"namespaces[0].subscribe_cel\" is not supported by this version of Gyre and is "
      "ignored",
      "key \"nats_raw_mode_enabled\" is not supported by this version of Gyre and is ignored "
      "(from CENTRIFUGO_NATS_RAW_MODE_ENABLED)",
  };
  EXPECT_EQ(r.warnings, expected);
}

TEST_F(LoaderTest, UnsupportedEngineIsAnError) {
  EXPECT_EQ(file_error("config.json", R"({"engine": "tarantool"})"),
            "config: key \"engine\": \"tarantool\" is not supported yet; supported: memory, "
            "redis");
  LoadInput input;
  input.flags = {{"engine", "tarantool"}};
  EXPECT_EQ(error_of(input),
            "config: key \"engine\": \"tarantool\" is not supported yet; supported: memory, "
            "redis");
  EXPECT_EQ(env_error({{"CENTRIFUGO_BROKER", "nats"}}),
            "config: key \"broker\": \"nats\" is not supported yet; supported: none");
}

TEST_F(LoaderTest, RedisEngineKeysLoadAndValidate) {
  LoadInput input;
  input.config_path = write("config.json", R"({"engine": "redis",
      "redis_address": "redis://u:p%40ss@127.0.0.1:6390/2", "redis_prefix": "gy",
      "redis_db": 1, "redis_user": "x", "redis_password": "y",
      "redis_connect_timeout": "250ms", "redis_io_timeout": "2s"})");
  input.validate = true;
  LoadResult r = load(input);
  EXPECT_EQ(r.config.engine, "redis");
  EXPECT_EQ(r.config.redis_address, std::vector<std::string>{"redis://u:p%40ss@127.0.0.1:6390/2"});
  EXPECT_EQ(r.config.redis_prefix, "gy");
  EXPECT_EQ(r.config.redis_db, 1);
  EXPECT_EQ(r.config.redis_user, "x");
  EXPECT_EQ(r.config.redis_password, "y");
  EXPECT_EQ(r.config.redis_connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(r.config.redis_io_timeout, std::chrono::milliseconds(2000));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis",
                                          "redis_address": ["redis+cluster://h:1", "h:2"]})"),
            "config: key \"redis_address\": redis+cluster:// addresses cannot be mixed with "
            "other kinds");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_address": "h:99999"})"),
            "config: key \"redis_address\": \"h:99999\": invalid port \"99999\"");
  // Several addresses are Redis shards; each one must parse.
  input.config_path = write("config.json", R"({"engine": "redis",
      "redis_address": ["127.0.0.1:6390", "redis://127.0.0.1:6391"]})");
  EXPECT_EQ(load(input).config.redis_address.size(), 2u);
  EXPECT_EQ(file_error("config.json",
                       R"({"engine": "redis", "redis_address": ["127.0.0.1:1", "h"]})"),
            "config: key \"redis_address\": \"h\": expected host:port or a redis:// URL");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_address": []})"),
            "config: key \"redis_address\": at least one address is required with engine "
            "\"redis\"");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_io_timeout": "0s"})"),
            "config: key \"redis_io_timeout\": must be positive");
}

TEST_F(LoaderTest, RedisModesValidateAndUnbuiltRedisOptionsAreErrorsNamingTheKey) {
  LoadInput input;
  input.config_path = write("config.json", R"({"engine": "redis",
      "redis_sentinel_address": ["127.0.0.1:26379,127.0.0.1:26380", "127.0.0.1:26381"],
      "redis_sentinel_master_name": "m", "redis_cluster_address": ["127.0.0.1:7000"],
      "redis_client_name": "gyre", "redis_force_resp2": true})");
  input.validate = true;
  LoadResult r = load(input);
  EXPECT_EQ(r.config.redis_sentinel_address.size(), 2u);
  EXPECT_EQ(r.config.redis_cluster_address, std::vector<std::string>{"127.0.0.1:7000"});
  EXPECT_EQ(r.config.redis_client_name, "gyre");
  EXPECT_TRUE(r.config.redis_force_resp2);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_sentinel_address": ["a:1"]})"),
            "config: key \"redis_sentinel_master_name\": must be set when using Redis Sentinel");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_sentinel_address": ["a:1,b"],
                                          "redis_sentinel_master_name": "m"})"),
            "config: key \"redis_sentinel_address\": \"b\": expected host:port or a redis:// URL");
  EXPECT_EQ(file_error("config.json",
                       R"({"engine": "redis", "redis_cluster_address": ["redis://a:1"]})"),
            "config: key \"redis_cluster_address\": \"redis://a:1\": expected host:port");
  EXPECT_EQ(file_error("config.json",
                       R"({"engine": "redis", "redis_cluster_address": ["a:1"], "redis_db": 2})"),
            "config: key \"redis_db\": must be 0 with Redis Cluster (got 2): a cluster has only "
            "database 0");
  EXPECT_EQ(file_error("config.json", R"({"redis_use_lists": true})"), "");
  EXPECT_EQ(file_error("config.json", R"({"global_redis_presence_user_mapping": true})"), "");
  EXPECT_EQ(env_error({{"CENTRIFUGO_REDIS_PRESENCE_HASH_FIELD_TTL", "true"}}),
            "config: key \"redis_presence_hash_field_ttl\": true is not supported: it needs Redis "
            ">= 7.4 (per-field hash expiry, HEXPIRE), and Gyre targets Redis 7.0 (Debian 12): "
            "presence expiry is kept in a ZSET (from CENTRIFUGO_REDIS_PRESENCE_HASH_FIELD_TTL)");
  // TLS to Redis: the material is checked at load, errors name the key (v6 path in v6 shape).
  EXPECT_EQ(file_error("config.json",
                       R"({"engine": {"type": "redis", "redis": {"tls": {"enabled": true}}}})"),
            "");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_tls": true,
                                          "redis_tls_cert": "x"})"),
            "config: key \"redis_tls_key\": must be set together with \"redis_tls_cert\"");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_tls": true,
                                          "redis_tls_cert": "/nonexistent/c", "redis_tls_key": "k"})"),
            "config: key \"redis_tls_cert\": cannot read file \"/nonexistent/c\"");
  EXPECT_EQ(file_error("config.json", R"({"engine": {"type": "redis", "redis": {"tls":
                                          {"enabled": true, "server_ca_pem": "nope"}}}})"),
            "config: key \"engine.redis.tls.server_ca_pem\": is neither PEM, base64 of PEM nor "
            "the path of a readable file");
  EXPECT_EQ(file_error("config.json", R"({"engine": "redis", "redis_sentinel_tls": true,
                                          "redis_sentinel_tls_root_ca_pem":
                                          "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"})"),
            "config: key \"redis_sentinel_tls_root_ca_pem\": no valid certificates found");
  {
    LoadInput input;
    input.config_path =
        write("config.json", R"({"engine": "redis", "redis_tls_server_name": "r.example"})");
    LoadResult r = load(input);
    EXPECT_EQ(r.warnings, std::vector<std::string>{
                              "key \"redis_tls_server_name\" has no effect while \"redis_tls\" "
                              "is false"});
    EXPECT_FALSE(r.config.redis_tls_resolved.enabled);
  }
  // False values are accepted (they change nothing).
  EXPECT_EQ(file_error("config.json", R"({"redis_use_lists": false, "redis_tls": false})"), "");
}

TEST_F(LoaderTest, TlsAutocertOptionsAreChecked) {
  EXPECT_EQ(env_error({{"CENTRIFUGO_TLS_AUTOCERT", "1"}}),
            "config: key \"tls_autocert_host_whitelist\": required with tls_autocert: Gyre "
            "obtains a certificate at start-up for each listed host");
  EXPECT_EQ(file_error("config.json",
                       R"({"tls_autocert": true, "tls_autocert_host_whitelist": "a.com,b_c.com"})"),
            "config: key \"tls_autocert_host_whitelist\": \"b_c.com\" is not a DNS name");
  EXPECT_EQ(file_error("config.json", R"({"tls_autocert": true, "tls_autocert_host_whitelist":
                       "a.com", "tls_autocert_http": true, "tls_autocert_http_addr": "80"})"),
            "config: key \"tls_autocert_http_addr\": invalid address \"80\" (expected host:port, "
            "e.g. \":80\")");
  EXPECT_EQ(file_error("config.json", R"({"tls_autocert": true, "tls_autocert_host_whitelist":
                       "a.com", "tls_autocert_directory_url": "ftp://x"})"),
            "config: key \"tls_autocert_directory_url\": \"ftp://x\" is not an http(s) URL");
  EXPECT_EQ(file_error("config.json",
                       R"({"tls_autocert": true, "tls_autocert_host_whitelist": "a.com"})"),
            "");
  EXPECT_EQ(file_error("config.json", R"({"http_server": {"tls_autocert": {"enabled": true,
                       "host_whitelist": ["a.com"]}}})"),
            "");
  EXPECT_EQ(file_error("config.json", R"({"tls_autocert_force_rsa": true})"),
            "config: key \"tls_autocert_force_rsa\": true is not supported: Gyre's autocert "
            "issues ECDSA P-256 certificates only (Centrifugo v5.4 documents the key but ignores "
            "it)");
  // Off, the options load (v5 comma string and v6 list give the same hosts).
  auto v5 = load_file("config.json", R"({"tls_autocert_host_whitelist": "A.com, b.com.,",
                      "tls_autocert_http_addr": "127.0.0.1:8080"})");
  EXPECT_EQ(autocert_hosts(v5.config), (std::vector<std::string>{"a.com", "b.com"}));
  EXPECT_EQ(v5.config.tls_autocert_http_addr, "127.0.0.1:8080");
  auto v6 = load_file("config.json",
                      R"({"http_server": {"tls_autocert": {"host_whitelist": ["a.com", "b.com"],
                      "cache_dir": "/var/lib/gyre/acme", "http": true}}})");
  EXPECT_EQ(autocert_hosts(v6.config), (std::vector<std::string>{"a.com", "b.com"}));
  EXPECT_EQ(v6.config.tls_autocert_cache_dir, "/var/lib/gyre/acme");
  EXPECT_TRUE(v6.config.tls_autocert_http);
  EXPECT_EQ(v6.config.tls_autocert_directory_url,
            "https://acme-v02.api.letsencrypt.org/directory");
}

TEST_F(LoaderTest, PortAcceptsNumbersAndRejectsNonPorts) {
  EXPECT_EQ(load_file("config.json", R"({"port": 9001, "internal_port": 9002})").config.port,
            "9001");
  EXPECT_EQ(file_error("config.json", R"({"port": "http"})"),
            "config: key \"port\": invalid port \"http\" (expected a number 0-65535)");
  EXPECT_EQ(file_error("config.json", R"({"internal_port": 70000})"),
            "config: key \"internal_port\": invalid port \"70000\" (expected a number 0-65535)");
}

TEST_F(LoaderTest, NamespaceNameIsRequiredValidAndUnique) {
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [{"presence": true}]})"),
            "config: key \"namespaces[0].name\": required");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [{"name": "a"}]})"),
            "config: key \"namespaces[0].name\": invalid namespace name \"a\" (must match "
            "^[-a-zA-Z0-9_.]{2,}$)");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [{"name": "chat:x"}]})"),
            "config: key \"namespaces[0].name\": invalid namespace name \"chat:x\" (must match "
            "^[-a-zA-Z0-9_.]{2,}$)");
  EXPECT_EQ(file_error("config.json", R"({"namespaces": [{"name": "chat"}, {"name": "chat"}]})"),
            "config: key \"namespaces[1].name\": duplicate namespace \"chat\"");
}

TEST_F(LoaderTest, ChannelRegexIsCompiledOrRejected) {
  LoadResult r = load_file("config.json", R"({"channel_regex": "^[0-9]+$"})");
  ASSERT_NE(r.config.channel.channel_regex_compiled, nullptr);
  EXPECT_TRUE(re2::RE2::FullMatch("123", *r.config.channel.channel_regex_compiled));
  EXPECT_TRUE(contains(file_error("config.json", R"({"channel_regex": "(["})"),
                       "config: key \"channel_regex\": invalid regex \"([\": "));
  EXPECT_TRUE(contains(file_error("config.json", R"json({"namespaces": [
                           {"name": "chat", "channel_regex": "a)"}]})json"),
                       "config: key \"namespaces[0].channel_regex\": invalid regex \"a)\": "));
}

TEST_F(LoaderTest, UnknownLogLevelFallsBackToInfoWithWarning) {
  LoadResult r = load_file("config.json", R"({"log_level": "verbose"})");
  EXPECT_EQ(r.config.log_level, "info");
  EXPECT_EQ(r.warnings, std::vector<std::string>{"unknown log_level \"verbose\", using info"});
  EXPECT_EQ(load_file("config.json", R"({"log_level": "DEBUG"})").config.log_level, "debug");
}

TEST_F(LoaderTest, HistoryTtlMustBeWholeSeconds) {
  EXPECT_EQ(file_error("config.json", R"({"history_size": 1, "history_ttl": "1500ms"})"),
            "config: key \"history_ttl\": must be whole seconds, got 1.5s");
  EXPECT_EQ(file_error("config.json", R"({"global_presence_ttl": "10.5s"})"),
            "config: key \"global_presence_ttl\": must be whole seconds, got 10.5s");
}

TEST_F(LoaderTest, TopLevelProxyStreamSubscribeAliasIsAccepted) {
  LoadResult r = load_file("config.json", R"({"proxy_stream_subscribe": true})");
  EXPECT_TRUE(r.config.channel.proxy_subscribe_stream);
  EXPECT_TRUE(r.warnings.empty());
  // Inside namespaces only the documented name exists.
  LoadResult ns =
      load_file("config.json", R"({"namespaces": [{"name": "ch", "proxy_stream_subscribe": 1}]})");
  EXPECT_EQ(ns.warnings,
            std::vector<std::string>{"unknown key \"namespaces[0].proxy_stream_subscribe\""});
}

// Guards the schema table: every key must be settable through its declared type (a
// mismatched member pointer would throw std::bad_variant_access here).
TEST_F(LoaderTest, EveryKeyAcceptsAValueOfItsType) {
  auto sample = [](schema::Type type) -> std::string {
    switch (type) {
      case schema::Type::kBool:
        return "false";
      case schema::Type::kInt:
        return "7";
      case schema::Type::kPort:
        return "9000";
      case schema::Type::kDuration:
      case schema::Type::kSeconds:
        return "0";
      case schema::Type::kStringList:
        return "a b";
      case schema::Type::kNamespaces:
        return "[]";
      case schema::Type::kString:
        return "debug";  // also a valid log level, so no warning
      case schema::Type::kDisconnectTransforms:
      case schema::Type::kHttpTransforms:
        return R"({"enabled": true})";
      case schema::Type::kJson:
        return "[]";
    }
    return "";
  };
  // (flag name, value): v5 keys and v6 paths; v6 flags use v6 value rules.
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& k : schema::global_keys()) {
    if (!k.name.empty()) {
      keys.emplace_back(std::string(k.name), sample(k.type));
    }
    if (!k.v6.empty() && k.type != schema::Type::kNamespaces &&
        k.type != schema::Type::kDisconnectTransforms && k.type != schema::Type::kHttpTransforms) {
      keys.emplace_back(std::string(k.v6), sample(k.type));
    }
  }
  for (const auto& k : schema::token_keys()) {
    keys.emplace_back(std::string(schema::kTokenPrefix) + std::string(k.name), "x");
    keys.emplace_back(std::string(schema::kSubscriptionTokenPrefix) + std::string(k.name), "x");
    keys.emplace_back(std::string(schema::kV6TokenBlock) + "." + std::string(k.v6), "x");
    keys.emplace_back(std::string(schema::kV6SubscriptionTokenBlock) + "." + std::string(k.v6),
                      "x");
  }
  for (const auto& k : schema::channel_keys()) {
    keys.emplace_back(std::string(k.name), sample(k.type));
    if (!k.v6.empty()) {
      keys.emplace_back(std::string(schema::kV6ChannelBlock) + "." + std::string(k.v6),
                        sample(k.type));
    }
  }
  for (const auto& [key, value] : keys) {
    SCOPED_TRACE(key);
    LoadInput input;
    input.flags = {{key, value}};
    input.validate = false;  // sample values need not make a valid whole config
    LoadResult r;
    try {
      r = load(input);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    EXPECT_EQ(r.warnings, std::vector<std::string>{});
  }
}

TEST_F(LoaderTest, GeneratedConfigLoadsBackInEveryFormat) {
  const RE2 uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (std::string name : {"gen.json", "gen.yaml", "gen.yml", "gen.toml"}) {
    SCOPED_TRACE(name);
    std::string text = generate_config(name, Shape::kV5);
    EXPECT_TRUE(contains(text, "allowed_origins"));
    LoadResult r = load_file(name, text);
    EXPECT_TRUE(RE2::FullMatch(r.config.token.hmac_secret_key, uuid));
    EXPECT_TRUE(RE2::FullMatch(r.config.api_key, uuid));
    EXPECT_NE(r.config.token.hmac_secret_key, r.config.api_key);
    EXPECT_TRUE(r.config.allowed_origins.empty());
    EXPECT_EQ(r.warnings, std::vector<std::string>{});
    EXPECT_TRUE(RE2::FullMatch(r.config.admin_password, uuid));
    EXPECT_TRUE(RE2::FullMatch(r.config.admin_secret, uuid));
  }
  EXPECT_NE(generate_config("a.json", Shape::kV5), generate_config("a.json", Shape::kV5));
  try {
    generate_config("config.ini", Shape::kV5);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "config: \"config.ini\": unknown extension \".ini\" (use .json, .yaml, .yml or "
                 ".toml)");
  }
}

TEST_F(LoaderTest, ProcessEnvironmentReturnsVariables) {
  ASSERT_EQ(setenv("GYRE_LOADER_TEST_VAR", "v=1", 1), 0);
  auto env = process_environment();
  EXPECT_EQ(env["GYRE_LOADER_TEST_VAR"], "v=1");
  unsetenv("GYRE_LOADER_TEST_VAR");
}

}  // namespace
}  // namespace gyre::config

namespace gyre::config {
namespace {

// Regression (found by the config fuzzer): aliases make yaml-cpp trees infinite or huge.
TEST(LoaderYamlLimitsTest, SelfReferencingAliasIsAConfigErrorNotACrash) {
  auto dir = std::filesystem::temp_directory_path() / "gyre-yaml-alias-test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "self.yaml").string();
  std::ofstream(path) << "a: &x [*x]\n";
  LoadInput in;
  in.config_path = path;
  try {
    load(in);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("too many aliases"), std::string::npos) << e.what();
  }
}

TEST(LoaderYamlLimitsTest, AliasExpansionBombIsAConfigError) {
  auto dir = std::filesystem::temp_directory_path() / "gyre-yaml-alias-test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "bomb.yaml").string();
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string p = "*a" + std::to_string(i - 1);
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " + p +
         ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  std::ofstream(path) << y;
  LoadInput in;
  in.config_path = path;
  try {
    load(in);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "config: file \"" + path +
                  "\": invalid YAML: nesting too deep or too many aliases (at most 256 levels and "
                  "262144 nodes)");
  }
}

}  // namespace
}  // namespace gyre::config

namespace gyre::config {
namespace {

// reference.md §1.9: connect-code transforms of the unidirectional transports.
TEST(LoaderTransformsTest, CodeTransformsLoadFromFileAndEnvironment) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gyre-config-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string path = tmpl + "/c.json";
  std::ofstream(path) << R"({
    "client_connect_code_to_unidirectional_disconnect":
      {"enabled": true, "transforms": [{"code": 109, "to": {"code": 4501, "reason": "x"}}]},
    "uni_sse_connect_code_to_http_response":
      {"enabled": true, "transforms": [{"code": 3500, "to": {"status_code": 403}}]}
  })";
  LoadInput input;
  input.config_path = path;
  input.env["CENTRIFUGO_UNI_HTTP_STREAM_CONNECT_CODE_TO_HTTP_RESPONSE"] =
      R"({"enabled":true,"transforms":[{"code":109,"to":{"status_code":401,"body":"e"}}]})";
  LoadResult r = load(input);
  std::filesystem::remove_all(tmpl);
  const auto& d = r.config.client_connect_code_to_unidirectional_disconnect;
  EXPECT_TRUE(d.enabled);
  ASSERT_EQ(d.transforms.size(), 1u);
  EXPECT_EQ(d.transforms[0].code, 109u);
  EXPECT_EQ(d.transforms[0].to_code, 4501u);
  EXPECT_EQ(d.transforms[0].to_reason, "x");
  const auto& s = r.config.uni_sse_connect_code_to_http_response;
  ASSERT_EQ(s.transforms.size(), 1u);
  EXPECT_EQ(s.transforms[0].to_status_code, 403);
  const auto& h = r.config.uni_http_stream_connect_code_to_http_response;
  EXPECT_TRUE(h.enabled);
  ASSERT_EQ(h.transforms.size(), 1u);
  EXPECT_EQ(h.transforms[0].to_status_code, 401);
  EXPECT_EQ(h.transforms[0].to_body, "e");
}

TEST(LoaderTransformsTest, InvalidTransformIsAnError) {
  LoadInput input;
  auto error_of = [&input]() -> std::string {
    try {
      load(input);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  input.env["CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE"] =
      R"({"enabled":true,"transforms":[{"code":1,"to":{"status_code":7}}]})";
  EXPECT_EQ(error_of(),
            "config: key \"uni_sse_connect_code_to_http_response.transforms[0].to.status_code\": "
            "must be an HTTP status code (100-999) (from "
            "CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE)");
  input.env["CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE"] = "[]";
  EXPECT_EQ(error_of(),
            "config: key \"uni_sse_connect_code_to_http_response\": expected object, got array "
            "(from CENTRIFUGO_UNI_SSE_CONNECT_CODE_TO_HTTP_RESPONSE)");
}

}  // namespace
}  // namespace gyre::config
