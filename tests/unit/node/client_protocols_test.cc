#include <gtest/gtest.h>

#include <functional>
#include <tuple>

#include "node/client.h"
#include "unit/node/client_harness.h"

// The connect and subscribe permission branches of server-api.md §5.4, each run over the JSON
// and the Protobuf client protocol (STYLE.md: protocol tests are parametrized over both). A
// reply is compared with the error the codec encodes for the expected code; a disconnect with
// the transport's close.
namespace gyre::node::testing {
namespace {

// Protobuf wire helpers (client-protocol.md §2.3): varint, field with varint or bytes value.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string vf(uint32_t field, uint64_t v) { return varint(uint64_t{field} << 3) + varint(v); }
std::string lf(uint32_t field, std::string_view body) {
  return varint((uint64_t{field} << 3) | 2) + varint(body.size()) + std::string(body);
}
std::string delimited(std::string_view message) {
  return varint(message.size()) + std::string(message);
}

bool is_json(const protocol::Codec& c) { return c.type() == protocol::ProtocolType::kJson; }

// Command{id, connect{token}} in `codec`'s frame format.
std::string connect_frame(const protocol::Codec& codec, const std::string& token) {
  if (is_json(codec)) {
    return R"({"id":1,"connect":{"token":")" + token + R"("}})";
  }
  return delimited(vf(1, 1) + lf(4, lf(1, token)));
}

// Command{id: 2, subscribe{channel, token}}.
std::string subscribe_frame(const protocol::Codec& codec, const std::string& channel,
                            const std::string& token) {
  if (is_json(codec)) {
    std::string body = R"("channel":")" + channel + "\"";
    if (!token.empty()) {
      body += R"(,"token":")" + token + "\"";
    }
    return R"({"id":2,"subscribe":{)" + body + "}}";
  }
  std::string body = lf(1, channel);
  if (!token.empty()) {
    body += lf(2, token);
  }
  return delimited(vf(1, 2) + lf(5, body));
}

struct SubscribeCase {
  const char* name;
  std::function<void(config::Config&)> setup;
  const char* user;           // connection token's sub
  const char* channel;
  const char* token_claims;   // subscription token claims ("" = none)
  std::optional<Error> error;  // expected reply error, if any
  std::optional<Disconnect> disconnect;
};

const std::vector<SubscribeCase>& cases() {
  static const std::vector<SubscribeCase> kCases = {
      {"unknown namespace", [](config::Config&) {}, "42", "nope:x", "", errors::unknown_channel(),
       std::nullopt},
      {"not allowed", [](config::Config&) {}, "42", "x", "", errors::permission_denied(),
       std::nullopt},
      {"allowed for client", [](config::Config& c) { c.channel.allow_subscribe_for_client = true; },
       "42", "x", "", std::nullopt, std::nullopt},
      {"anonymous not allowed",
       [](config::Config& c) { c.channel.allow_subscribe_for_client = true; }, "", "x", "",
       errors::permission_denied(), std::nullopt},
      {"anonymous allowed",
       [](config::Config& c) {
         c.channel.allow_subscribe_for_client = true;
         c.channel.allow_subscribe_for_anonymous = true;
       },
       "", "x", "", std::nullopt, std::nullopt},
      {"user-limited, own", [](config::Config& c) { c.channel.allow_user_limited_channels = true; },
       "42", "d#42,43", "", std::nullopt, std::nullopt},
      {"user-limited, other",
       [](config::Config& c) { c.channel.allow_user_limited_channels = true; }, "44", "d#42,43",
       "", errors::permission_denied(), std::nullopt},
      {"private without token",
       [](config::Config& c) { c.channel.allow_subscribe_for_client = true; }, "42", "$p", "",
       errors::permission_denied(), std::nullopt},
      {"private with token", [](config::Config&) {}, "42", "$p", R"("sub":"42","channel":"$p")",
       std::nullopt, std::nullopt},
      {"token for another channel", [](config::Config&) {}, "42", "$p",
       R"("sub":"42","channel":"$q")", std::nullopt, disconnects::invalid_token()},
      {"proxy namespace",
       [](config::Config& c) {
         c.channel.allow_subscribe_for_client = true;
         c.channel.proxy_subscribe = true;
       },
       "42", "x", "", errors::not_available(), std::nullopt},
      {"insecure", [](config::Config& c) { c.client_insecure = true; }, "42", "x", "",
       std::nullopt, std::nullopt},
  };
  return kCases;
}

class ProtocolsTest
    : public ClientTest,
      public ::testing::WithParamInterface<std::tuple<protocol::ProtocolType, size_t>> {
 protected:
  const protocol::Codec& codec() const {
    return std::get<0>(GetParam()) == protocol::ProtocolType::kJson ? protocol::json_codec()
                                                                    : protocol::protobuf_codec();
  }
  std::string error_reply(uint32_t id, const Error& e) const {
    std::string out;
    codec().encode_error(out, id, e);
    return out;
  }
};

TEST_P(ProtocolsTest, SubscribePermission) {
  const SubscribeCase& tc = cases()[std::get<1>(GetParam())];
  SCOPED_TRACE(tc.name);
  tc.setup(cfg);
  Conn& c = open({"websocket", false, false, true}, {}, codec());
  std::string claims = std::string(R"("sub":")") + tc.user + "\"";
  send(c, connect_frame(codec(), token(claims)));
  ASSERT_TRUE(c.client->authenticated()) << tc.name;
  c.take();
  std::string sub_token = *tc.token_claims != '\0' ? token(tc.token_claims) : std::string();
  send(c, subscribe_frame(codec(), tc.channel, sub_token));
  auto msgs = c.take();
  if (tc.disconnect) {
    EXPECT_TRUE(msgs.empty());
    EXPECT_EQ(c.closed(), tc.disconnect);
    return;
  }
  EXPECT_FALSE(c.closed());
  ASSERT_EQ(msgs.size(), 1u);
  if (tc.error) {
    EXPECT_EQ(msgs[0], error_reply(2, *tc.error));
    return;
  }
  std::string ok;
  codec().encode_subscribe(ok, 2, protocol::SubscribeResult{});
  EXPECT_EQ(msgs[0], ok);
}

std::string case_name(
    const ::testing::TestParamInfo<std::tuple<protocol::ProtocolType, size_t>>& info) {
  std::string name = std::get<0>(info.param) == protocol::ProtocolType::kJson ? "Json_" : "Pb_";
  for (char ch : std::string(cases()[std::get<1>(info.param)].name)) {
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    JsonAndProtobuf, ProtocolsTest,
    ::testing::Combine(::testing::Values(protocol::ProtocolType::kJson,
                                         protocol::ProtocolType::kProtobuf),
                       ::testing::Range<size_t>(0, cases().size())),
    case_name);

class ProtocolsConnectTest : public ClientTest,
                             public ::testing::WithParamInterface<protocol::ProtocolType> {
 protected:
  const protocol::Codec& codec() const {
    return GetParam() == protocol::ProtocolType::kJson ? protocol::json_codec()
                                                       : protocol::protobuf_codec();
  }
};

TEST_P(ProtocolsConnectTest, BadSignatureDisconnects3500) {
  Conn& c = open({"websocket", false, false, true}, {}, codec());
  send(c, connect_frame(codec(), auth::make_hs256_token("wrong", R"({"sub":"42"})")));
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

TEST_P(ProtocolsConnectTest, ExpiredTokenReplies109) {
  start();
  Conn& c = open({"websocket", false, false, true}, {}, codec());
  send(c, connect_frame(codec(), token(R"("sub":"42","exp":)" + std::to_string(now_unix() - 1))));
  std::string expected;
  codec().encode_error(expected, 1, errors::token_expired());
  EXPECT_EQ(c.one(), expected);
  EXPECT_FALSE(c.client->authenticated());
}

TEST_P(ProtocolsConnectTest, ServerSidePublicationReachesTheClient) {
  Conn& c = open({"websocket", false, false, true}, {}, codec());
  send(c, connect_frame(codec(), token(R"("sub":"42","channels":["news"])")));
  ASSERT_TRUE(c.client->authenticated());
  c.take();
  publish("news", R"({"n":1})");
  protocol::Publication expected_pub;
  expected_pub.offset = 1;
  expected_pub.data = R"({"n":1})";
  expected_pub.epoch = top("news").epoch;
  std::string expected;
  codec().encode_pub(expected, "news", expected_pub, false);
  EXPECT_EQ(c.one(), expected);
}

INSTANTIATE_TEST_SUITE_P(JsonAndProtobuf, ProtocolsConnectTest,
                         ::testing::Values(protocol::ProtocolType::kJson,
                                           protocol::ProtocolType::kProtobuf),
                         [](const auto& info) {
                           return std::string(info.param == protocol::ProtocolType::kJson
                                                  ? "Json"
                                                  : "Protobuf");
                         });

}  // namespace
}  // namespace gyre::node::testing
