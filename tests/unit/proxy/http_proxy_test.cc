#include "proxy/http_proxy.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "protocol/json_entities.h"

namespace gyre::proxy {
namespace {

class HttpProxyTest : public ::testing::Test {
 protected:
  ProxyConfig json_proxy() {
    ProxyConfig p;
    p.endpoint = "http://127.0.0.1:1/connect";
    return p;
  }
  Caller caller() {
    Caller c;
    c.client = "c1";
    c.transport = "websocket";
    c.protocol = "json";
    c.user = "42";
    c.meta = R"({"m":1})";
    return c;
  }
};

TEST_F(HttpProxyTest, ConnectRequestHasCommonFieldsThenPayloadNameVersionChannels) {
  protocol::ConnectRequest req;
  req.data = "{ \"a\" : \"<b>&\" }";
  req.name = "js";
  req.version = "5.0.0";
  req.subs.emplace_back("news", protocol::SubscribeRequest{});
  req.subs.emplace_back("chat:1", protocol::SubscribeRequest{});
  auto body = encode_connect_request(json_proxy(), caller(), req);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("data":{"a":"\u003cb\u003e\u0026"},"name":"js","version":"5.0.0",)"
            R"("channels":["news","chat:1"]})");
}

TEST_F(HttpProxyTest, ConnectRequestOmitsEmptyFields) {
  auto body = encode_connect_request(json_proxy(), caller(), protocol::ConnectRequest{});
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json"})");
}

TEST_F(HttpProxyTest, BinaryEncodingSendsBase64) {
  ProxyConfig p = json_proxy();
  p.binary_encoding = true;
  protocol::ConnectRequest req;
  req.data = std::string("\x00\xff", 2);
  auto body = encode_connect_request(p, caller(), req);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"binary",)"
            R"("b64data":"AP8="})");
}

TEST_F(HttpProxyTest, NonJsonPayloadWithoutBinaryEncodingFails) {
  protocol::RpcRequest req;
  req.data = "not json";
  EXPECT_FALSE(encode_rpc_request(json_proxy(), caller(), req));
}

TEST_F(HttpProxyTest, RpcRequestHasUserMethodDataAndMetaWhenIncluded) {
  protocol::RpcRequest req;
  req.method = "getCurrentPrice";
  req.data = R"({"params":{"object_id":12}})";
  auto body = encode_rpc_request(json_proxy(), caller(), req);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","method":"getCurrentPrice","data":{"params":{"object_id":12}}})");
  ProxyConfig p = json_proxy();
  p.include_connection_meta = true;
  Caller anon = caller();
  anon.user = "";
  req.method.clear();
  req.data.clear();
  body = encode_rpc_request(p, anon, req);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"","meta":{"m":1}})");
  // The meta goes last, after the payload (the reference's field order).
  req.method = "m";
  req.data = "1";
  body = encode_rpc_request(p, caller(), req);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","method":"m","data":1,"meta":{"m":1}})");
}

TEST_F(HttpProxyTest, RequestHeadersForwardConfiguredNamesCaseInsensitively) {
  ProxyConfig p = json_proxy();
  p.http_headers = {"authorization", "x-custom"};
  Headers client = {{"Authorization", "Bearer x"}, {"Cookie", "c=1"}, {"X-CUSTOM", "v"}};
  Headers expected = {{"authorization", "Bearer x"},
                      {"x-custom", "v"},
                      {"content-type", "application/json"}};
  EXPECT_EQ(request_headers(p, client), expected);
}

TEST_F(HttpProxyTest, ConnectResultDecodesEveryField) {
  auto reply = decode_connect_reply(
      R"({"result":{"user":"56","expire_at":1700000000,"info":{"i":1},"data":{"d":2},)"
      R"("meta":{"m":3},"channels":["a","b"],)"
      R"("subs":{"b":{"info":{"ci":1},"b64data":"eyJ4Ijp0cnVlfQ==",)"
      R"("override":{"presence":{"value":true}}}}}})");
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->disconnect);
  EXPECT_FALSE(reply->error);
  ASSERT_TRUE(reply->result);
  const auto& c = reply->result->claims;
  EXPECT_EQ(c.user, "56");
  EXPECT_EQ(c.expires_at(), 1700000000);
  EXPECT_EQ(c.info, R"({"i":1})");
  EXPECT_EQ(c.meta, R"({"m":3})");
  EXPECT_EQ(reply->result->data, R"({"d":2})");
  ASSERT_EQ(c.subs.size(), 2u);
  EXPECT_EQ(c.subs[0].first, "a");
  EXPECT_EQ(c.subs[0].second.info, "");
  EXPECT_EQ(c.subs[1].first, "b");
  EXPECT_EQ(c.subs[1].second.info, R"({"ci":1})");
  EXPECT_EQ(c.subs[1].second.data, R"({"x":true})");
  EXPECT_EQ(c.subs[1].second.override.presence, std::optional<bool>(true));
  EXPECT_EQ(c.subs[1].second.override.join_leave, std::nullopt);
}

TEST_F(HttpProxyTest, Base64InfoWinsAndBadBase64IsInternalError) {
  auto reply = decode_connect_reply(R"({"result":{"info":{"i":1},"b64info":"aGk="}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->claims.info, "hi");
  reply = decode_connect_reply(R"({"result":{"user":"1","b64data":"!!"}})");
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->result);
  ASSERT_TRUE(reply->error);
  EXPECT_EQ(reply->error->code, 100u);
  EXPECT_EQ(reply->error->message, "internal server error");
}

TEST_F(HttpProxyTest, ErrorAndDisconnectDecodeExactly) {
  auto reply = decode_connect_reply(
      R"({"error":{"code":1000,"message":"custom","temporary":true},)"
      R"("DISCONNECT":{"code":4500,"reason":"go away"}})");
  ASSERT_TRUE(reply);
  ASSERT_TRUE(reply->error);
  EXPECT_EQ(reply->error->code, 1000u);
  EXPECT_EQ(reply->error->message, "custom");
  EXPECT_TRUE(reply->error->temporary);
  ASSERT_TRUE(reply->disconnect);
  EXPECT_EQ(*reply->disconnect, (Disconnect{4500, "go away"}));
  EXPECT_FALSE(reply->result);
}

TEST_F(HttpProxyTest, EmptyObjectHasNoResult) {
  auto reply = decode_connect_reply("{}");
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->result);
  EXPECT_FALSE(reply->error);
  EXPECT_FALSE(reply->disconnect);
}

TEST_F(HttpProxyTest, UndecodableBodiesAreFailures) {
  EXPECT_FALSE(decode_connect_reply(""));
  EXPECT_FALSE(decode_connect_reply("not json"));
  EXPECT_FALSE(decode_connect_reply("[]"));
  EXPECT_FALSE(decode_connect_reply(R"({"result":{"user":5}})"));
  EXPECT_FALSE(decode_connect_reply(R"({"result":{"expire_at":1.5}})"));
  EXPECT_FALSE(decode_connect_reply(R"({"result":{}} trailing)"));
  EXPECT_FALSE(decode_rpc_reply(R"({"error":{"code":-1}})"));
}

TEST_F(HttpProxyTest, RpcResultPrefersNonEmptyBase64) {
  auto reply = decode_rpc_reply(R"({"result":{"data":{"a":1}}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->data, R"({"a":1})");
  reply = decode_rpc_reply(R"({"result":{"data":{"a":1},"b64data":"eHk="}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->data, "xy");
}

// The payload compaction the requests use (protocol::append_compact_json, shared with the API).
TEST_F(HttpProxyTest, CompactJsonKeepsEscapesInsideStrings) {
  std::string out;
  ASSERT_TRUE(protocol::append_compact_json(out, "{ \"a\\\" b\" : [ 1 , \"\xe2\x80\xa8\" ] }"));
  EXPECT_EQ(out, "{\"a\\\" b\":[1,\"\\u2028\"]}");
}

TEST_F(HttpProxyTest, SubscribeResultDecodesEveryField) {
  auto reply = decode_subscribe_reply(
      R"({"result":{"expire_at":1700000000,"info":{"i":1},"b64data":"eyJkIjoxfQ==",)"
      R"("override":{"force_recovery":{"value":true}}}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->expire_at, 1700000000);
  EXPECT_EQ(reply->result->info, R"({"i":1})");
  EXPECT_EQ(reply->result->data, R"({"d":1})");
  EXPECT_EQ(reply->result->override.force_recovery, std::optional<bool>(true));
}

TEST_F(HttpProxyTest, PublishResultDataWinsOverBase64EvenWhenNull) {
  auto reply = decode_publish_reply(R"({"result":{"data":null,"b64data":"eHk=","skip_history":true}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->data, std::optional<std::string>("null"));
  EXPECT_FALSE(reply->result->data_is_binary);
  EXPECT_TRUE(reply->result->skip_history);
  reply = decode_publish_reply(R"({"result":{"b64data":"eHk="}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->data, std::optional<std::string>("xy"));
  EXPECT_TRUE(reply->result->data_is_binary);
  reply = decode_publish_reply(R"({"result":{}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_EQ(reply->result->data, std::nullopt);
}

TEST_F(HttpProxyTest, SubscribeAndPublishRequestsCarryChannel) {
  auto body = encode_publish_request(json_proxy(), caller(), "news", R"({"x":1})");
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","channel":"news","data":{"x":1}})");
  body = encode_subscribe_request(json_proxy(), caller(), "news", "");
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","channel":"news"})");
}

TEST_F(HttpProxyTest, RefreshRequestAndResult) {
  ProxyConfig p = json_proxy();
  p.include_connection_meta = true;
  EXPECT_EQ(encode_refresh_request(p, caller()),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","meta":{"m":1}})");
  auto reply = decode_refresh_reply(
      R"({"result":{"expire_at":1700000000,"b64info":"aGk=","meta":{"n":2}},"error":{"code":1}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_FALSE(reply->result->expired);
  EXPECT_EQ(reply->result->expire_at, 1700000000);
  EXPECT_EQ(reply->result->info, "hi");
  EXPECT_EQ(reply->result->meta, std::optional<std::string>(R"({"n":2})"));
  EXPECT_FALSE(reply->result->bad_info);
  reply = decode_refresh_reply(R"({"result":{"expired":true,"b64info":"%%"}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_TRUE(reply->result->expired);
  EXPECT_TRUE(reply->result->bad_info);
}

TEST_F(HttpProxyTest, StaticHeadersFirstThenForwardedOverrideThenContentType) {
  ProxyConfig p = json_proxy();
  p.http_headers = {"authorization"};
  p.static_http_headers = {{"authorization", "static"}, {"content-type", "x"}, {"x-s", "1"}};
  Headers with = {{"Authorization", "Bearer c"}, {"X-S", "client"}};
  Headers expected = {{"x-s", "1"},
                      {"authorization", "Bearer c"},
                      {"content-type", "application/json"}};
  EXPECT_EQ(request_headers(p, with), expected);
  Headers without = {{"X-S", "client"}};
  expected = {{"authorization", "static"}, {"x-s", "1"}, {"content-type", "application/json"}};
  EXPECT_EQ(request_headers(p, without), expected);
}

TEST_F(HttpProxyTest, StatusTransformsMapToErrorOrDisconnect) {
  ProxyConfig p = json_proxy();
  config::ProxyStatusTransform e;
  e.status_code = 404;
  e.error_code = 1404;
  e.error_message = "not found";
  e.error_temporary = true;
  config::ProxyStatusTransform d;
  d.status_code = 403;
  d.disconnect_code = 4403;
  d.disconnect_reason = "forbidden";
  p.http_status_transforms = {e, d};
  auto t = transform_status(p, 404);
  ASSERT_TRUE(t && t->error && !t->disconnect);
  EXPECT_EQ(t->error->code, 1404u);
  EXPECT_EQ(t->error->message, "not found");
  EXPECT_TRUE(t->error->temporary);
  t = transform_status(p, 403);
  ASSERT_TRUE(t && t->disconnect && !t->error);
  EXPECT_EQ(t->disconnect->code, 4403u);
  EXPECT_EQ(t->disconnect->reason, "forbidden");
  EXPECT_FALSE(transform_status(p, 500));
}

TEST_F(HttpProxyTest, SubRefreshRequestAndResult) {
  ProxyConfig p = json_proxy();
  p.include_connection_meta = true;
  EXPECT_EQ(encode_sub_refresh_request(p, caller(), "chat:1"),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"42","channel":"chat:1","meta":{"m":1}})");
  auto reply = decode_sub_refresh_reply(
      R"({"result":{"expire_at":1700000000,"b64info":"aGk=","info":{"x":1}},"error":{"code":1}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_FALSE(reply->result->expired);
  EXPECT_EQ(reply->result->expire_at, 1700000000);
  EXPECT_EQ(reply->result->info, "hi");
  EXPECT_FALSE(reply->result->bad_info);
  reply = decode_sub_refresh_reply(R"({"result":{"expired":true,"b64info":"%%"}})");
  ASSERT_TRUE(reply && reply->result);
  EXPECT_TRUE(reply->result->expired);
  EXPECT_TRUE(reply->result->bad_info);
  reply = decode_sub_refresh_reply(R"({})");
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->result);
  EXPECT_FALSE(decode_sub_refresh_reply(R"({"result":{"expire_at":"x"}})"));
}

config::Config load_env(std::map<std::string, std::string> env) {
  config::LoadInput input;
  input.env = std::move(env);
  return config::load(input).config;
}

TEST_F(HttpProxyTest, DefaultModeRoutesEveryMethodAndNamespaceFlags) {
  auto cfg = load_env({{"CENTRIFUGO_PROXY_RPC_ENDPOINT", "http://127.0.0.1:1/rpc"},
                       {"CENTRIFUGO_PROXY_SUBSCRIBE_ENDPOINT", "http://127.0.0.1:1/sub"}});
  auto r = rpc_proxy(cfg, "ns:method");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->endpoint, "http://127.0.0.1:1/rpc");
  config::ChannelOptions o;
  EXPECT_EQ(subscribe_proxy(cfg, o), nullptr);
  o.proxy_subscribe = true;
  ASSERT_NE(subscribe_proxy(cfg, o), nullptr);
  EXPECT_EQ(publish_proxy(cfg, o), nullptr);
  o = {};
  o.subscribe_proxy_name = "any";  // default mode: a name asks for the proxy too
  EXPECT_NE(subscribe_proxy(cfg, o), nullptr);
  EXPECT_EQ(connect_proxy(cfg), nullptr);
  auto none = load_env({});
  auto missing = rpc_proxy(none, "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, 108u);
}

TEST_F(HttpProxyTest, GranularModeRoutesByNameAndRpcNamespace) {
  auto cfg = load_env({
      {"CENTRIFUGO_GRANULAR_PROXY_MODE", "true"},
      {"CENTRIFUGO_PROXIES", R"([{"name":"a1","endpoint":"http://127.0.0.1:1/a"},)"
                             R"({"name":"b1","endpoint":"http://127.0.0.1:1/b"}])"},
      {"CENTRIFUGO_CONNECT_PROXY_NAME", "b1"},
      {"CENTRIFUGO_RPC_NAMESPACES",
       R"([{"name":"n1","rpc_proxy_name":"b1"},{"name":"n2"}])"},
      {"CENTRIFUGO_RPC_PROXY_NAME", "a1"},
  });
  ASSERT_NE(connect_proxy(cfg), nullptr);
  EXPECT_EQ(connect_proxy(cfg)->name, "b1");
  EXPECT_EQ(refresh_proxy(cfg), nullptr);
  EXPECT_EQ((*rpc_proxy(cfg, "plain"))->name, "a1");
  EXPECT_EQ((*rpc_proxy(cfg, "n1:get"))->name, "b1");
  EXPECT_EQ(rpc_proxy(cfg, "n2:get").error().code, 108u);
  EXPECT_EQ(rpc_proxy(cfg, "n3:get").error().code, 104u);
  EXPECT_EQ((*rpc_proxy(cfg, ":get"))->name, "a1");  // empty namespace: top level
  config::ChannelOptions o;
  o.proxy_subscribe = true;  // granular mode: a flag without a name has no proxy (108)
  EXPECT_EQ(subscribe_proxy(cfg, o), nullptr);
  o.subscribe_proxy_name = "a1";
  o.sub_refresh_proxy_name = "b1";
  EXPECT_EQ(subscribe_proxy(cfg, o)->name, "a1");
  EXPECT_EQ(sub_refresh_proxy(cfg, o)->name, "b1");
  EXPECT_TRUE(server_side_sub_refresh(o));
  // rpc_namespace_boundary: another separator, or none at all.
  auto dot = load_env({
      {"CENTRIFUGO_GRANULAR_PROXY_MODE", "true"},
      {"CENTRIFUGO_PROXIES", R"([{"name":"a1","endpoint":"http://127.0.0.1:1/a"}])"},
      {"CENTRIFUGO_RPC_NAMESPACES", R"([{"name":"n1","rpc_proxy_name":"a1"}])"},
      {"CENTRIFUGO_RPC_NAMESPACE_BOUNDARY", "."},
  });
  EXPECT_EQ((*rpc_proxy(dot, "n1.get"))->name, "a1");
  EXPECT_EQ(rpc_proxy(dot, "n1:get").error().code, 108u);  // top level has no proxy
  EXPECT_EQ(rpc_proxy(dot, "n9.get").error().code, 104u);
  // Granular mode without any rpc_proxy_name: no RPC handler at all (108).
  auto no_rpc = load_env({
      {"CENTRIFUGO_GRANULAR_PROXY_MODE", "true"},
      {"CENTRIFUGO_PROXIES", R"([{"name":"a1","endpoint":"http://127.0.0.1:1/a"}])"},
  });
  EXPECT_EQ(rpc_proxy(no_rpc, "n9:get").error().code, 108u);
}

TEST_F(HttpProxyTest, OverrideDecodesAsGoLikeJwtClaims) {
  // A repeated BoolValue key updates the existing value (Go decodes into the pointer); null
  // clears it; a null `value` leaves it.
  auto reply = decode_subscribe_reply(
      R"({"result":{"override":{"presence":{"value":true},"presence":{},)"
      R"("join_leave":{"value":true},"join_leave":null,)"
      R"("force_recovery":{"value":true},"force_recovery":{"value":null}}}})");
  ASSERT_TRUE(reply && reply->result);
  const auto& o = reply->result->override;
  EXPECT_EQ(o.presence, std::optional<bool>(true));
  EXPECT_EQ(o.join_leave, std::nullopt);
  EXPECT_EQ(o.force_recovery, std::optional<bool>(true));
}

TEST_F(HttpProxyTest, V6ShapeRoutesByEnabledSwitchesAndDefaultName) {
  auto path = std::filesystem::temp_directory_path() /
              ("gyre-v6-proxy-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"http_server": {"port": 8000},
    "client": {"proxy": {"connect": {"enabled": true, "endpoint": "http://127.0.0.1:1/c"}}},
    "channel": {"proxy": {"subscribe": {"endpoint": "http://127.0.0.1:1/s"}}},
    "rpc": {"proxy": {"endpoint": "http://127.0.0.1:1/rpc"},
            "without_namespace": {"proxy_enabled": true},
            "namespaces": [{"name": "n1", "proxy_enabled": true, "proxy_name": "other"},
                           {"name": "n2"}]},
    "proxies": [{"name": "other", "endpoint": "http://127.0.0.1:1/o"}]})";
  config::LoadInput input;
  input.config_path = path.string();
  config::Config cfg = config::load(input).config;
  std::filesystem::remove(path);
  ASSERT_TRUE(cfg.v6_proxies);
  ASSERT_NE(connect_proxy(cfg), nullptr);
  EXPECT_EQ(connect_proxy(cfg)->endpoint, "http://127.0.0.1:1/c");
  EXPECT_EQ((*rpc_proxy(cfg, "plain"))->endpoint, "http://127.0.0.1:1/rpc");
  EXPECT_EQ((*rpc_proxy(cfg, "n1:x"))->name, "other");
  EXPECT_EQ(rpc_proxy(cfg, "n2:x").error().code, 108u);
  EXPECT_EQ(rpc_proxy(cfg, "n3:x").error().code, 104u);
  config::ChannelOptions o;
  o.subscribe_proxy_name = "other";
  EXPECT_EQ(subscribe_proxy(cfg, o), nullptr) << "v6: not enabled";
  o.proxy_subscribe = true;
  EXPECT_EQ(subscribe_proxy(cfg, o)->name, "other");
  o.subscribe_proxy_name.clear();  // `default`
  EXPECT_EQ(subscribe_proxy(cfg, o)->endpoint, "http://127.0.0.1:1/s");
}

}  // namespace
}  // namespace gyre::proxy
