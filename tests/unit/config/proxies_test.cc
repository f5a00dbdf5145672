// Proxy keys at load (config/proxies.cc): default-mode resolution, granular mode, and every
// start-up error naming its key (server-api.md §4.1, §4.10).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/loader.h"

namespace gyre::config {
namespace {

LoadResult load_env(std::map<std::string, std::string> env) {
  LoadInput input;
  input.env = std::move(env);
  return load(input);
}

std::string error_of(std::map<std::string, std::string> env) {
  try {
    load_env(std::move(env));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const std::string kTwo =
    R"([{"name":"one","endpoint":"http://127.0.0.1:1/a","timeout":"2s",)"
    R"("http_headers":["X-A"],"static_http_headers":{"X-Static":"s"},"binary_encoding":true,)"
    R"("http_status_to_code_transforms":[{"status_code":404,"to_error":{"code":1404,)"
    R"("message":"nf","temporary":true}}]},)"
    R"({"name":"two","endpoint":"https://example.com/b","include_connection_meta":true,)"
    R"("http_headers":["x-b","x-a"]}])";

TEST(ProxiesConfig, DefaultModeResolvesEachEndpointWithSharedOptions) {
  LoadResult r = load_env({
      {"CENTRIFUGO_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/connect"},
      {"CENTRIFUGO_PROXY_SUB_REFRESH_ENDPOINT", "http://127.0.0.1:1/sub_refresh"},
      {"CENTRIFUGO_PROXY_SUB_REFRESH_TIMEOUT", "3s"},
      {"CENTRIFUGO_PROXY_HTTP_HEADERS", "Authorization X-Id"},
      {"CENTRIFUGO_PROXY_STATIC_HTTP_HEADERS", R"({"X-Token":"abc","x-other":"1"})"},
      {"CENTRIFUGO_PROXY_HTTP_STATUS_CODE_TRANSFORMS",
       R"([{"status_code":403,"to_disconnect":{"code":4403,"reason":"forbidden"}}])"},
  });
  const auto& p = r.config.proxies_resolved;
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kConnect]);
  EXPECT_FALSE(p.by_kind[ResolvedProxies::kRpc]);
  const auto& sr = *p.by_kind[ResolvedProxies::kSubRefresh];
  EXPECT_EQ(sr.endpoint, "http://127.0.0.1:1/sub_refresh");
  EXPECT_EQ(sr.timeout, Duration(3000));
  EXPECT_EQ(sr.http_headers, (std::vector<std::string>{"authorization", "x-id"}));
  std::vector<std::pair<std::string, std::string>> statics = {{"x-other", "1"},
                                                              {"x-token", "abc"}};
  EXPECT_EQ(sr.static_http_headers, statics);
  ASSERT_EQ(sr.http_status_transforms.size(), 1u);
  EXPECT_EQ(sr.http_status_transforms[0].status_code, 403);
  EXPECT_EQ(sr.http_status_transforms[0].disconnect_code, 4403u);
  EXPECT_EQ(sr.http_status_transforms[0].disconnect_reason, "forbidden");
  EXPECT_EQ(p.captured_headers, (std::vector<std::string>{"authorization", "x-id"}));
}

TEST(ProxiesConfig, GranularModeReadsNamedProxies) {
  LoadResult r = load_env({
      {"CENTRIFUGO_GRANULAR_PROXY_MODE", "true"},
      {"CENTRIFUGO_PROXIES", kTwo},
      {"CENTRIFUGO_CONNECT_PROXY_NAME", "one"},
      {"CENTRIFUGO_RPC_PROXY_NAME", "two"},
      {"CENTRIFUGO_RPC_NAMESPACES", R"([{"name":"ns1","rpc_proxy_name":"one"},{"name":"ns2"}])"},
      {"CENTRIFUGO_NAMESPACES", R"([{"name":"chat","subscribe_proxy_name":"two"}])"},
      {"CENTRIFUGO_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/ignored"},
  });
  const auto& p = r.config.proxies_resolved;
  ASSERT_EQ(p.named.size(), 2u);
  const ProxyDefinition* one = p.find("one");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->timeout, Duration(2000));
  EXPECT_TRUE(one->binary_encoding);
  EXPECT_EQ(one->http_headers, std::vector<std::string>{"x-a"});
  ASSERT_EQ(one->http_status_transforms.size(), 1u);
  EXPECT_EQ(one->http_status_transforms[0].error_code, 1404u);
  EXPECT_TRUE(one->http_status_transforms[0].error_temporary);
  EXPECT_EQ(p.find("two")->timeout, Duration(1000));  // default 1s
  EXPECT_TRUE(p.find("two")->include_connection_meta);
  EXPECT_EQ(p.captured_headers, (std::vector<std::string>{"x-a", "x-b"}));
  ASSERT_EQ(p.rpc_namespaces.size(), 2u);
  EXPECT_EQ(p.rpc_namespaces[0].rpc_proxy_name, "one");
  EXPECT_EQ(p.rpc_namespaces[1].rpc_proxy_name, "");
  bool warned = false;
  for (const auto& w : r.warnings) {
    warned |= w.find("\"proxy_connect_endpoint\" is ignored in granular proxy mode") !=
              std::string::npos;
  }
  EXPECT_TRUE(warned);
}

TEST(ProxiesConfig, StartUpErrorsNameTheKey) {
  const std::map<std::string, std::string> granular = {{"CENTRIFUGO_GRANULAR_PROXY_MODE", "true"},
                                                       {"CENTRIFUGO_PROXIES", kTwo}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto env = granular;
    for (auto& [k, v] : extra) {
      env[k] = v;
    }
    return error_of(env);
  };
  EXPECT_EQ(with({{"CENTRIFUGO_CONNECT_PROXY_NAME", "three"}}),
            "config: key \"connect_proxy_name\": connect proxy not found: three");
  EXPECT_EQ(with({{"CENTRIFUGO_REFRESH_PROXY_NAME", "x3"}}),
            "config: key \"refresh_proxy_name\": refresh proxy not found: x3");
  EXPECT_EQ(with({{"CENTRIFUGO_RPC_PROXY_NAME", "x3"}}),
            "config: key \"rpc_proxy_name\": rpc proxy not found: x3");
  EXPECT_EQ(with({{"CENTRIFUGO_NAMESPACES", R"([{"name":"a1","publish_proxy_name":"nope"}])"}}),
            "config: key \"namespaces[0].publish_proxy_name\": publish proxy not found: nope");
  EXPECT_EQ(with({{"CENTRIFUGO_SUB_REFRESH_PROXY_NAME", "nope"}}),
            "config: key \"sub_refresh_proxy_name\": sub refresh proxy not found: nope");
  EXPECT_EQ(with({{"CENTRIFUGO_SUBSCRIBE_PROXY_NAME", "nope"}}),
            "config: key \"subscribe_proxy_name\": subscribe proxy not found: nope");
  EXPECT_EQ(with({{"CENTRIFUGO_RPC_NAMESPACES", R"([{"name":"r1","rpc_proxy_name":"zz"}])"}}),
            "config: key \"rpc_namespaces[0].rpc_proxy_name\": rpc proxy not found: zz");
  EXPECT_EQ(with({{"CENTRIFUGO_RPC_NAMESPACES", R"([{"name":"r"}])"}}),
            "config: key \"rpc_namespaces[0].name\": invalid rpc namespace name \"r\" (must "
            "match ^[-a-zA-Z0-9_.]{2,}$)");
  EXPECT_EQ(with({{"CENTRIFUGO_RPC_NAMESPACES", R"([{"name":"r1"},{"name":"r1"}])"}}),
            "config: key \"rpc_namespaces[1].name\": rpc namespace name must be unique: r1");
  EXPECT_EQ(with({{"CENTRIFUGO_PROXIES", R"([{"name":"p1"}])"}}),
            "config: key \"proxies[0].endpoint\": no endpoint set for proxy p1");
  EXPECT_EQ(with({{"CENTRIFUGO_PROXIES", R"([{"name":"p","endpoint":"http://x"}])"}}),
            "config: key \"proxies[0].name\": invalid proxy name \"p\", must match "
            "^[-a-zA-Z0-9_.]{2,}$ regular expression");
  EXPECT_EQ(with({{"CENTRIFUGO_PROXIES",
                   R"([{"name":"p1","endpoint":"http://x"},{"name":"p1","endpoint":"http://y"}])"}}),
            "config: key \"proxies[1].name\": duplicate proxy name: p1");
  EXPECT_EQ(with({{"CENTRIFUGO_PROXIES", R"([{"name":"p1","endpoint":"grpc://127.0.0.1:1"}])"}}),
            "config: key \"proxies[0].endpoint\": \"grpc://127.0.0.1:1\" is not an http:// or "
            "https:// URL; GRPC proxies are not supported by this version of Gyre");
  EXPECT_EQ(with({{"CENTRIFUGO_PROXIES",
                   R"([{"name":"p1","endpoint":"http://x","http_status_to_code_transforms":)"
                   R"([{"status_code":500}]}])"}}),
            "config: key \"proxies[0].http_status_to_code_transforms[0]\": no error or "
            "disconnect code set");
  EXPECT_EQ(with({{"CENTRIFUGO_NAMESPACES",
                   R"([{"name":"a1","subscribe_stream_proxy_name":"one"}])"}}),
            "config: key \"namespaces[0].subscribe_stream_proxy_name\": subscribe stream "
            "proxies need GRPC, which this version of Gyre does not support");
  // Default mode.
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_SUBSCRIBE_STREAM_ENDPOINT", "grpc://127.0.0.1:1"}}),
            "config: key \"proxy_subscribe_stream_endpoint\": subscribe stream proxies need "
            "GRPC, which this version of Gyre does not support");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_SUB_REFRESH_ENDPOINT", "127.0.0.1:9000"}}),
            "config: key \"proxy_sub_refresh_endpoint\": \"127.0.0.1:9000\" is not an http:// "
            "or https:// URL; GRPC proxies are not supported by this version of Gyre");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_HTTP_STATUS_CODE_TRANSFORMS",
                       R"([{"to_error":{"code":1}}])"}}),
            "config: key \"proxy_http_status_code_transforms[0]\": no status code specified");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_HTTP_STATUS_CODE_TRANSFORMS",
                       R"([{"status_code":404,"to_error":{"code":1},"to_disconnect":{"code":4000}}])"}}),
            "config: key \"proxy_http_status_code_transforms[0]\": only error or disconnect code "
            "can be set");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_HTTP_STATUS_CODE_TRANSFORMS",
                       R"([{"status_code":404,"to_disconnect":{"code":4000,"reason":"é"}}])"}}),
            "config: key \"proxy_http_status_code_transforms[0].to_disconnect.reason\": "
            "disconnect reason must be ASCII");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_STATIC_HTTP_HEADERS", R"({"X-A":1})"}}),
            "config: key \"proxy_static_http_headers.X-A\": expected string, got 1");
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_STATIC_HTTP_HEADERS", R"(["X-A"])"}}),
            "config: key \"proxy_static_http_headers\": expected object, got array");
}

LoadResult load_v6(const std::string& json) {
  auto path = std::filesystem::temp_directory_path() /
              ("gyre-proxies-" + std::to_string(getpid()) + ".json");
  std::ofstream(path) << json;
  LoadInput input;
  input.config_path = path.string();
  try {
    LoadResult r = load(input);
    std::filesystem::remove(path);
    return r;
  } catch (...) {
    std::filesystem::remove(path);
    throw;
  }
}

std::string v6_error(const std::string& json) {
  try {
    load_v6(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ProxiesConfig, V6ProxyObjectsMapToTheSameProxies) {
  LoadResult r = load_v6(R"({
    "http_server": {"port": 8000},
    "client": {"proxy": {
      "connect": {"enabled": true, "endpoint": "http://127.0.0.1:1/c", "timeout": "2s",
                  "http_headers": ["Authorization"],
                  "http": {"static_headers": {"X-S": "v"},
                           "status_to_code_transforms": [{"status_code": 404,
                               "to_error": {"code": 1404, "message": "nf"}}]}},
      "refresh": {"endpoint": "http://127.0.0.1:1/r"}}},
    "channel": {"proxy": {"sub_refresh": {"endpoint": "http://127.0.0.1:1/sr"}},
                "namespaces": [{"name": "ns", "subscribe_proxy_enabled": true,
                                "subscribe_proxy_name": "named"}]},
    "rpc": {"proxy": {"endpoint": "http://127.0.0.1:1/rpc"},
            "without_namespace": {"proxy_enabled": true, "proxy_name": "default"},
            "namespaces": [{"name": "r1", "proxy_enabled": true, "proxy_name": "named"}]},
    "proxies": [{"name": "named", "endpoint": "http://127.0.0.1:1/n", "binary_encoding": true}]
  })");
  const Config& c = r.config;
  ASSERT_TRUE(c.v6_proxies);
  const auto& p = c.proxies_resolved;
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kConnect]);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kConnect]->timeout, Duration(2000));
  EXPECT_EQ(p.by_kind[ResolvedProxies::kConnect]->static_http_headers.size(), 1u);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kConnect]->http_status_transforms.size(), 1u);
  EXPECT_FALSE(p.by_kind[ResolvedProxies::kRefresh]) << "v6 needs enabled: true";
  EXPECT_TRUE(p.by_kind[ResolvedProxies::kSubRefresh]);
  EXPECT_TRUE(p.by_kind[ResolvedProxies::kRpc]);
  ASSERT_NE(p.find("named"), nullptr);
  EXPECT_TRUE(p.find("named")->binary_encoding);
  EXPECT_TRUE(c.v6_rpc_proxy_enabled);
  EXPECT_EQ(c.rpc_proxy_name, "");
  ASSERT_EQ(p.rpc_namespaces.size(), 1u);
  EXPECT_TRUE(p.rpc_namespaces[0].proxy_enabled);
  EXPECT_EQ(p.rpc_namespaces[0].rpc_proxy_name, "named");
  EXPECT_EQ(p.captured_headers, std::vector<std::string>{"authorization"});
  for (const auto& w : r.warnings) {
    EXPECT_EQ(w.find("proxy"), std::string::npos) << w;
  }
}

TEST(ProxiesConfig, V6ErrorsNameThePath) {
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "client": {"proxy": {"connect": {"enabled": true}}}})"),
            "config: key \"client.proxy.connect.endpoint\": required when the proxy is enabled "
            "or named");
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "channel": {"namespaces": [{"name": "ns", "publish_proxy_name": "nope"}]}})"),
            "config: key \"channel.namespaces[0].publish_proxy_name\": publish proxy not found: "
            "nope");
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "proxies": [{"name": "default", "endpoint": "http://x"}]})"),
            "config: key \"proxies[0].name\": \"default\" is reserved for the unnamed proxy of "
            "each type");
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "rpc": {"proxy": {"endpoint": "grpc://127.0.0.1:1"}}})"),
            "config: key \"rpc.proxy.endpoint\": \"grpc://127.0.0.1:1\" is not an http:// or "
            "https:// URL; GRPC proxies are not supported by this version of Gyre");
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "channel": {"proxy": {"subscribe_stream": {"endpoint": "grpc://127.0.0.1:1"}}}})"),
            "config: key \"channel.proxy.subscribe_stream.endpoint\": \"grpc://127.0.0.1:1\" is "
            "not an http:// or https:// URL; GRPC proxies are not supported by this version of "
            "Gyre");
  EXPECT_EQ(v6_error(R"({"http_server": {"port": 8000},
      "channel": {"proxy": {"subscribe_stream": {"endpoint": "http://127.0.0.1:1"}}}})"),
            "config: key \"channel.proxy.subscribe_stream.endpoint\": subscribe stream proxies "
            "need GRPC, which this version of Gyre does not support");
}

// v6 per-leaf variables of the Proxy objects (v6-config.md §1.3, §2.2): each one resolves
// as the matching file key.
TEST(ProxiesConfig, V6ProxyLeafVariablesResolveAsTheFileKeys) {
  LoadResult r = load_env({
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED", "true"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/c"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_TIMEOUT", "2500ms"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_HEADERS", "Authorization X-Real-Ip"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS", R"({"X-S":"v","x-b":"w"})"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATUS_TO_CODE_TRANSFORMS",
       R"([{"status_code":404,"to_error":{"code":1404,"message":"nf","temporary":true}}])"},
      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_BINARY_ENCODING", "1"},
      {"CENTRIFUGO_CLIENT_PROXY_REFRESH_ENDPOINT", "http://127.0.0.1:1/r"},
      {"CENTRIFUGO_CLIENT_PROXY_REFRESH_ENABLED", "T"},
      {"CENTRIFUGO_CHANNEL_PROXY_SUBSCRIBE_ENDPOINT", "http://127.0.0.1:1/s"},
      {"CENTRIFUGO_CHANNEL_PROXY_SUBSCRIBE_INCLUDE_CONNECTION_META", "true"},
      {"CENTRIFUGO_CHANNEL_PROXY_PUBLISH_ENDPOINT", "https://example.com/p"},
      {"CENTRIFUGO_CHANNEL_PROXY_PUBLISH_TIMEOUT", "3s"},
      {"CENTRIFUGO_CHANNEL_PROXY_SUB_REFRESH_ENDPOINT", "http://127.0.0.1:1/sr"},
      {"CENTRIFUGO_CHANNEL_PROXY_SUB_REFRESH_HTTP_TLS_ENABLED", "false"},
      {"CENTRIFUGO_RPC_PROXY_ENDPOINT", "http://127.0.0.1:1/rpc"},
      {"CENTRIFUGO_RPC_PROXY_TIMEOUT", "1m"},
      {"CENTRIFUGO_RPC_WITHOUT_NAMESPACE_PROXY_ENABLED", "true"},
  });
  const Config& c = r.config;
  ASSERT_TRUE(c.v6_proxies) << "v6 names alone select the v6 shape";
  const auto& p = c.proxies_resolved;
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kConnect]);
  const ProxyDefinition& connect = *p.by_kind[ResolvedProxies::kConnect];
  EXPECT_EQ(connect.endpoint, "http://127.0.0.1:1/c");
  EXPECT_EQ(connect.timeout, Duration(2500));
  EXPECT_EQ(connect.http_headers, (std::vector<std::string>{"authorization", "x-real-ip"}));
  EXPECT_EQ(connect.static_http_headers,
            (std::vector<std::pair<std::string, std::string>>{{"x-b", "w"}, {"x-s", "v"}}));
  ASSERT_EQ(connect.http_status_transforms.size(), 1u);
  EXPECT_EQ(connect.http_status_transforms[0].status_code, 404);
  EXPECT_EQ(connect.http_status_transforms[0].error_code, 1404u);
  EXPECT_EQ(connect.http_status_transforms[0].error_message, "nf");
  EXPECT_TRUE(connect.http_status_transforms[0].error_temporary);
  EXPECT_TRUE(connect.binary_encoding);
  EXPECT_FALSE(connect.include_connection_meta);
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kRefresh]);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kRefresh]->endpoint, "http://127.0.0.1:1/r");
  EXPECT_EQ(p.by_kind[ResolvedProxies::kRefresh]->timeout, Duration(1000));
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kSubscribe]);
  EXPECT_TRUE(p.by_kind[ResolvedProxies::kSubscribe]->include_connection_meta);
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kPublish]);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kPublish]->endpoint, "https://example.com/p");
  EXPECT_EQ(p.by_kind[ResolvedProxies::kPublish]->timeout, Duration(3000));
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kSubRefresh]);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kSubRefresh]->endpoint, "http://127.0.0.1:1/sr");
  ASSERT_TRUE(p.by_kind[ResolvedProxies::kRpc]);
  EXPECT_EQ(p.by_kind[ResolvedProxies::kRpc]->timeout, Duration(60000));
  EXPECT_TRUE(c.v6_rpc_proxy_enabled);
  EXPECT_EQ(p.captured_headers, (std::vector<std::string>{"authorization", "x-real-ip"}));
  for (const auto& w : r.warnings) {
    EXPECT_EQ(w.find("proxy"), std::string::npos) << w;
  }
}

TEST(ProxiesConfig, V6ProxyLeafVariablesOverrideTheFileLeafByLeaf) {
  auto path = std::filesystem::temp_directory_path() /
              ("gyre-proxies-env-" + std::to_string(getpid()) + ".json");
  std::ofstream(path) << R"({"http_server": {"port": 8000},
      "client": {"proxy": {"connect": {"Endpoint": "http://127.0.0.1:1/file",
                                       "timeout": "5s", "http_headers": ["x-file"]}}}})";
  LoadInput input;
  input.config_path = path.string();
  input.env = {{"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/env"},
               {"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED", "true"}};
  LoadResult r = load(input);
  std::filesystem::remove(path);
  const auto& connect = r.config.proxies_resolved.by_kind[ResolvedProxies::kConnect];
  ASSERT_TRUE(connect);
  EXPECT_EQ(connect->endpoint, "http://127.0.0.1:1/env");
  EXPECT_EQ(connect->timeout, Duration(5000));
  EXPECT_EQ(connect->http_headers, std::vector<std::string>{"x-file"});
}

TEST(ProxiesConfig, V6NamedProxiesFromNamesAndPerFieldVariables) {
  LoadResult r = load_env({
      {"CENTRIFUGO_PROXIES", "auth my-proxy.2"},
      {"CENTRIFUGO_PROXIES_AUTH_ENDPOINT", "http://127.0.0.1:1/auth"},
      {"CENTRIFUGO_PROXIES_AUTH_TIMEOUT", "4s"},
      {"CENTRIFUGO_PROXIES_AUTH_HTTP_STATIC_HEADERS", R"({"x-k":"v"})"},
      {"CENTRIFUGO_PROXIES_MY_PROXY_2_ENDPOINT", "http://127.0.0.1:1/two"},
      {"CENTRIFUGO_PROXIES_MY_PROXY_2_INCLUDE_CONNECTION_META", "true"},
      {"CENTRIFUGO_PROXIES_NOPE_ENDPOINT", "http://127.0.0.1:1/nope"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES", "ns"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_NS_PUBLISH_PROXY_ENABLED", "true"},
      {"CENTRIFUGO_CHANNEL_NAMESPACES_NS_PUBLISH_PROXY_NAME", "auth"},
  });
  const auto& p = r.config.proxies_resolved;
  ASSERT_NE(p.find("auth"), nullptr);
  EXPECT_EQ(p.find("auth")->endpoint, "http://127.0.0.1:1/auth");
  EXPECT_EQ(p.find("auth")->timeout, Duration(4000));
  EXPECT_EQ(p.find("auth")->static_http_headers,
            (std::vector<std::pair<std::string, std::string>>{{"x-k", "v"}}));
  ASSERT_NE(p.find("my-proxy.2"), nullptr);
  EXPECT_EQ(p.find("my-proxy.2")->endpoint, "http://127.0.0.1:1/two");
  EXPECT_TRUE(p.find("my-proxy.2")->include_connection_meta);
  ASSERT_EQ(r.config.namespaces.size(), 1u);
  EXPECT_EQ(r.config.namespaces[0].options.publish_proxy_name, "auth");
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "unknown key \"proxies_nope_endpoint\" (from "
                            "CENTRIFUGO_PROXIES_NOPE_ENDPOINT)"});
}

TEST(ProxiesConfig, V6ProxyLeafVariableErrorsNameTheVariable) {
  EXPECT_EQ(error_of({{"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED", "yes"}}),
            "config: key \"client.proxy.connect.enabled\": invalid boolean \"yes\" (from "
            "CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED)");
  EXPECT_EQ(error_of({{"CENTRIFUGO_RPC_PROXY_TIMEOUT", "5"}}),
            "config: key \"rpc.proxy.timeout\": invalid duration \"5\" (from "
            "CENTRIFUGO_RPC_PROXY_TIMEOUT)");
  EXPECT_EQ(error_of({{"CENTRIFUGO_CHANNEL_PROXY_PUBLISH_HTTP_STATIC_HEADERS", "[1]"}}),
            "config: key \"channel.proxy.publish.http.static_headers\": expected JSON object, "
            "got array (from CENTRIFUGO_CHANNEL_PROXY_PUBLISH_HTTP_STATIC_HEADERS)");
  EXPECT_EQ(error_of({{"CENTRIFUGO_CLIENT_PROXY_REFRESH_HTTP_TLS_ENABLED", "true"}}),
            "config: key \"client.proxy.refresh.http.tls.enabled\": true is not supported yet; "
            "supported: false (https:// endpoints use the system CA store) (from "
            "CENTRIFUGO_CLIENT_PROXY_REFRESH_HTTP_TLS_ENABLED)");
  EXPECT_EQ(error_of({{"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED", "true"}}),
            "config: key \"client.proxy.connect.endpoint\": required when the proxy is enabled "
            "or named");
  EXPECT_EQ(error_of({{"CENTRIFUGO_CHANNEL_PROXY_SUBSCRIBE_ENDPOINT", "grpc://127.0.0.1:1"}}),
            "config: key \"channel.proxy.subscribe.endpoint\": \"grpc://127.0.0.1:1\" is not an "
            "http:// or https:// URL; GRPC proxies are not supported by this version of Gyre");
  // A v5-shaped configuration cannot take them: refused, never silently dropped.
  EXPECT_EQ(error_of({{"CENTRIFUGO_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/v5"},
                      {"CENTRIFUGO_TOKEN_HMAC_SECRET_KEY", "k"},
                      {"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT", "http://127.0.0.1:1/v6"}}),
            "config: key \"client.proxy.connect\": a Centrifugo v6 proxy option cannot be "
            "combined with a configuration in the v5 shape; use the v5 proxy_* keys there");
  // Still not supported: map/shared-poll proxies (v6 features Gyre does not have).
  LoadResult r = load_env({{"CENTRIFUGO_CHANNEL_PROXY_MAP_PUBLISH_ENDPOINT", "http://x/"}});
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "key \"channel.proxy\" is not supported by this version of Gyre and "
                            "is ignored (from CENTRIFUGO_CHANNEL_PROXY_MAP_PUBLISH_ENDPOINT)"});
}

}  // namespace
}  // namespace gyre::config
