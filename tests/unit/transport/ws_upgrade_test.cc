#include "transport/ws_upgrade.h"

#include <gtest/gtest.h>

#include "transport/ws_deflate.h"

// WebSocket upgrade negotiation as a pure function (client-protocol.md §8.1, §8.3.1;
// reference.md §1.2, §1.3, §1.9).
namespace gyre::transport {
namespace {

UpgradeRequest good(std::string_view query = "") {
  UpgradeRequest r;
  r.method = "GET";
  r.upgrade = "websocket";
  r.connection = "keep-alive, Upgrade";
  r.version = "13";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  r.host = "example.com";
  r.query = query;
  return r;
}

TEST(WsUpgradeTest, AcceptsAHandshakeAndAnswersWithTheRfc6455AcceptKey) {
  config::Config cfg;
  auto a = negotiate_websocket(good(), cfg, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  EXPECT_EQ(a->options.protocol, protocol::ProtocolType::kJson);
  EXPECT_FALSE(a->options.deflate);
  EXPECT_FALSE(a->options.unidirectional);
}

TEST(WsUpgradeTest, RefusesBadHandshakesWith400) {
  config::Config cfg;
  for (int i = 0; i < 5; ++i) {
    UpgradeRequest r = good();
    switch (i) {
      case 0: r.method = "POST"; break;
      case 1: r.upgrade = "h2c"; break;
      case 2: r.connection = "keep-alive"; break;
      case 3: r.version = "8"; break;
      case 4: r.key = ""; break;
    }
    auto a = negotiate_websocket(r, cfg, {});
    ASSERT_FALSE(a) << i;
    EXPECT_EQ(a.error().status, 400) << i;
  }
}

TEST(WsUpgradeTest, OriginPolicy) {
  config::Config cfg;
  UpgradeRequest r = good();
  r.origin = "https://EXAMPLE.com";  // same origin (empty allowed_origins), case-insensitive
  EXPECT_TRUE(negotiate_websocket(r, cfg, {}));
  r.origin = "https://evil.com";
  auto refused = negotiate_websocket(r, cfg, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 403);
  cfg.allowed_origins = {"https://*.Evil.com"};
  auto globs = compile_origin_globs(cfg.allowed_origins);
  EXPECT_FALSE(negotiate_websocket(r, cfg, globs));
  r.origin = "https://a.evil.com";
  EXPECT_TRUE(negotiate_websocket(r, cfg, globs));
  r.origin = "";  // no Origin header: not a browser, passes
  EXPECT_TRUE(negotiate_websocket(r, cfg, globs));
}

TEST(WsUpgradeTest, ProtobufBySubprotocolOrQuery) {
  config::Config cfg;
  UpgradeRequest r = good();
  r.protocols = "centrifuge-json, centrifuge-protobuf";
  auto a = negotiate_websocket(r, cfg, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->options.protocol, protocol::ProtocolType::kProtobuf);
  EXPECT_NE(a->response.find("\r\nSec-WebSocket-Protocol: centrifuge-protobuf\r\n"),
            std::string::npos);
  r = good();
  r.protocols = "centrifuge-json";
  a = negotiate_websocket(r, cfg, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->options.protocol, protocol::ProtocolType::kJson);
  EXPECT_NE(a->response.find("\r\nSec-WebSocket-Protocol: centrifuge-json\r\n"), std::string::npos);
  for (std::string_view q : {"cf_protocol=protobuf", "format=protobuf"}) {
    a = negotiate_websocket(good(q), cfg, {});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->options.protocol, protocol::ProtocolType::kProtobuf) << q;
    EXPECT_EQ(a->response.find("Sec-WebSocket-Protocol"), std::string::npos) << q;
  }
}

TEST(WsUpgradeTest, DeflateOnlyWhenConfiguredAndOffered) {
  config::Config cfg;
  UpgradeRequest r = good();
  r.extensions = "permessage-deflate; client_max_window_bits";
  auto a = negotiate_websocket(r, cfg, {});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->options.deflate);  // websocket_compression off
  cfg.websocket_compression = true;
  cfg.websocket_compression_level = 42;
  cfg.websocket_compression_min_size = 100;
  a = negotiate_websocket(r, cfg, {});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->options.deflate);
  EXPECT_TRUE(a->invalid_compression_level);
  EXPECT_EQ(a->options.compression_level, 1);
  EXPECT_EQ(a->options.compression_min_size, 100);
  EXPECT_NE(a->response.find(std::string("Sec-WebSocket-Extensions: ") +
                             std::string(ws::kDeflateResponse) + "\r\n"),
            std::string::npos);
}

TEST(WsUpgradeTest, UniWebSocketReadsOnlyItsOwnOptionsAndCfConnect) {
  config::Config cfg;
  cfg.websocket_compression = true;
  cfg.websocket_message_size_limit = 1000;
  cfg.uni_websocket_message_size_limit = 2000;
  UpgradeRequest r = good("cf_connect=%7B%22token%22%3A%22t%22%7D&cf_ws_frame_ping_pong=true");
  r.unidirectional = true;
  r.protocols = "centrifuge-protobuf";
  r.extensions = "permessage-deflate";
  auto a = negotiate_websocket(r, cfg, {});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->options.unidirectional);
  EXPECT_FALSE(a->options.deflate);  // uni_websocket_compression is off
  EXPECT_FALSE(a->options.frame_ping_pong);
  EXPECT_EQ(a->options.protocol, protocol::ProtocolType::kJson);
  EXPECT_EQ(a->options.message_size_limit, 2000);
  ASSERT_TRUE(a->uni_connect);
  EXPECT_EQ(a->uni_connect->token, "t");
  r.query = "cf_connect=%7Bnot-json";
  auto bad = negotiate_websocket(r, cfg, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 400);
}

TEST(WsUpgradeTest, WriteTimeoutZeroMeansOneSecondAndPingPongByQuery) {
  config::Config cfg;
  cfg.websocket_write_timeout = config::Duration(0);
  auto a = negotiate_websocket(good("cf_ws_frame_ping_pong=true"), cfg, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->options.write_timeout, std::chrono::milliseconds(1000));
  EXPECT_TRUE(a->options.frame_ping_pong);
  cfg.websocket_write_timeout = config::Duration(2500);
  a = negotiate_websocket(good("cf_ws_frame_ping_pong=1"), cfg, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->options.write_timeout, std::chrono::milliseconds(2500));
  EXPECT_FALSE(a->options.frame_ping_pong);
}

TEST(WsUpgradeTest, HeaderHasTokenIsCaseInsensitiveAndTrimmed) {
  EXPECT_TRUE(header_has_token("keep-alive,  UPGRADE ", "upgrade"));
  EXPECT_FALSE(header_has_token("upgrades", "upgrade"));
  EXPECT_FALSE(header_has_token("", "upgrade"));
}

}  // namespace
}  // namespace gyre::transport
