#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"

// Decoding of JSON command frames (client-protocol.md §2.2, §3.1, §4.1).
namespace gyre::protocol {
namespace {

class JsonCodecDecodeTest : public ::testing::Test {
 protected:
  // Decodes `frame`, expecting success.
  std::vector<Command> ok(std::string_view frame) {
    std::vector<Command> out;
    EXPECT_TRUE(json_codec().decode_commands(frame, out)) << frame;
    return out;
  }
  bool decodes(std::string_view frame) {
    std::vector<Command> out;
    return json_codec().decode_commands(frame, out);
  }
  // Decodes one command frame, expecting exactly one command.
  Command one(std::string_view frame) {
    auto cmds = ok(frame);
    EXPECT_EQ(cmds.size(), 1u) << frame;
    return cmds.empty() ? Command{} : cmds[0];
  }
};

TEST_F(JsonCodecDecodeTest, TypeIsJson) { EXPECT_EQ(json_codec().type(), ProtocolType::kJson); }

TEST_F(JsonCodecDecodeTest, BatchedConnectAndSubscribeFromWorkedSession) {
  auto cmds = ok(
      "{\"connect\":{\"token\":\"tok\",\"name\":\"js\"},\"id\":1}\n"
      "{\"subscribe\":{\"channel\":\"chat:lobby\",\"join_leave\":true,\"flag\":1},\"id\":2}");
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].id, 1u);
  EXPECT_EQ(cmds[0].method, Method::kConnect);
  EXPECT_EQ(cmds[0].connect.token, "tok");
  EXPECT_EQ(cmds[0].connect.name, "js");
  EXPECT_EQ(cmds[1].id, 2u);
  EXPECT_EQ(cmds[1].method, Method::kSubscribe);
  EXPECT_EQ(cmds[1].subscribe.channel, "chat:lobby");
  EXPECT_TRUE(cmds[1].subscribe.join_leave);
  EXPECT_EQ(cmds[1].subscribe.flag, 1);
  EXPECT_FALSE(cmds[1].subscribe.recover);
}

TEST_F(JsonCodecDecodeTest, DataNestedUpToTheDepthLimitWithOrWithoutHugeNumbers) {
  // data's bytes pass through; the command decodes iff the line nests at most 1023 arrays and
  // objects (simdjson's limit, the command and publish objects count), huge numbers or not.
  for (const char* leaf : {"1", "1e400"}) {
    for (int n = 1018; n <= 1026; ++n) {
      std::string data = std::string(n, '[') + leaf + std::string(n, ']');
      std::string line = R"({"id":1,"publish":{"channel":"a","data":)" + data + "}}";
      const bool within = n + 2 <= 1023;
      ASSERT_EQ(decodes(line), within) << leaf << " " << n;
      if (within) {
        EXPECT_EQ(one(line).publish.data, data);
      }
    }
  }
}

TEST_F(JsonCodecDecodeTest, AppendsToExistingOutputInOrder) {
  std::vector<Command> out(1);
  ASSERT_TRUE(json_codec().decode_commands("{\"id\":5,\"presence\":{\"channel\":\"a\"}}", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].id, 5u);
}

TEST_F(JsonCodecDecodeTest, AcceptsOneTrailingNewline) {
  auto cmds = ok("{\"id\":1,\"publish\":{\"channel\":\"c\",\"data\":1}}\n");
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].method, Method::kPublish);
}

TEST_F(JsonCodecDecodeTest, RejectsTwoTrailingNewlines) {
  EXPECT_FALSE(decodes("{\"id\":1,\"presence\":{\"channel\":\"c\"}}\n\n"));
}

TEST_F(JsonCodecDecodeTest, RejectsEmptyLineBetweenCommands) {
  EXPECT_FALSE(decodes("{\"id\":1,\"presence\":{\"channel\":\"c\"}}\n\n{\"id\":2,\"presence\":{\"channel\":\"c\"}}"));
}

TEST_F(JsonCodecDecodeTest, RejectsLeadingNewline) {
  EXPECT_FALSE(decodes("\n{\"id\":1,\"presence\":{\"channel\":\"c\"}}"));
}

TEST_F(JsonCodecDecodeTest, RejectsEmptyFrame) {
  EXPECT_FALSE(decodes(""));
  EXPECT_FALSE(decodes("\n"));
}

TEST_F(JsonCodecDecodeTest, RejectsInvalidJson) {
  EXPECT_FALSE(decodes("{"));
  EXPECT_FALSE(decodes("{\"id\":1,}"));
  EXPECT_FALSE(decodes("{'id':1}"));
  EXPECT_FALSE(decodes("   "));
}

TEST_F(JsonCodecDecodeTest, RejectsTrailingGarbageAfterCommand) {
  EXPECT_FALSE(decodes("{\"id\":1,\"presence\":{\"channel\":\"c\"}}x"));
  EXPECT_FALSE(decodes("{\"id\":1,\"presence\":{\"channel\":\"c\"}}{\"id\":2}"));
}

TEST_F(JsonCodecDecodeTest, RejectsWholeFrameWhenAnyLineIsInvalid) {
  std::vector<Command> out;
  EXPECT_FALSE(json_codec().decode_commands("{\"id\":1,\"presence\":{\"channel\":\"c\"}}\nnope", out));
}

TEST_F(JsonCodecDecodeTest, RejectsNonObjectCommand) {
  EXPECT_FALSE(decodes("[]"));
  EXPECT_FALSE(decodes("1"));
  EXPECT_FALSE(decodes("null"));
  EXPECT_FALSE(decodes("\"connect\""));
}

TEST_F(JsonCodecDecodeTest, RejectsInvalidUtf8) {
  EXPECT_FALSE(decodes("{\"id\":1,\"presence\":{\"channel\":\"\xff\"}}"));
}

TEST_F(JsonCodecDecodeTest, EmptyObjectIsPongWithIdZero) {
  Command c = one("{}");
  EXPECT_EQ(c.id, 0u);
  EXPECT_EQ(c.method, Method::kNone);
}

TEST_F(JsonCodecDecodeTest, IgnoresUnknownKeysAtEveryLevel) {
  Command c = one(
      "{\"x\":{\"deep\":[1,{\"y\":null}]},\"id\":9,\"subscribe\":{\"channel\":\"c\",\"tf\":{\"op\":"
      "\"and\",\"nodes\":[]},\"phase\":2,\"cursor\":\"z\",\"profile\":\"p\"},\"zz\":true}");
  EXPECT_EQ(c.id, 9u);
  EXPECT_EQ(c.method, Method::kSubscribe);
  EXPECT_EQ(c.subscribe.channel, "c");
}

TEST_F(JsonCodecDecodeTest, NullValueIsTreatedAsAbsent) {
  Command c = one(
      "{\"id\":null,\"publish\":{\"channel\":\"c\",\"data\":null},\"subscribe\":null}");
  EXPECT_EQ(c.id, 0u);
  EXPECT_EQ(c.method, Method::kPublish);  // subscribe:null does not count as present
  EXPECT_EQ(c.publish.channel, "c");
  EXPECT_EQ(c.publish.data, "");
}

TEST_F(JsonCodecDecodeTest, NullRequestLeavesNoMethod) {
  Command c = one("{\"id\":4,\"connect\":null}");
  EXPECT_EQ(c.id, 4u);
  EXPECT_EQ(c.method, Method::kNone);
}

TEST_F(JsonCodecDecodeTest, CapturesRawObjectDataExactly) {
  // client-protocol.md §2.2: {"publish":{"channel":"c","data":{"a":1}},"id":3} publishes {"a":1}.
  Command c = one("{\"publish\":{\"channel\":\"c\",\"data\":{\"a\":1}},\"id\":3}");
  EXPECT_EQ(c.id, 3u);
  EXPECT_EQ(c.publish.data, "{\"a\":1}");
}

TEST_F(JsonCodecDecodeTest, CapturesRawObjectDataWithInnerWhitespaceVerbatim) {
  Command c = one("{\"publish\":{\"data\" : { \"a\" : [1, 2] }  ,\"channel\":\"c\"},\"id\":3}");
  EXPECT_EQ(c.publish.data, "{ \"a\" : [1, 2] }");
  EXPECT_EQ(c.publish.channel, "c");
}

TEST_F(JsonCodecDecodeTest, CapturesRawArrayData) {
  Command c = one("{\"id\":3,\"publish\":{\"channel\":\"c\",\"data\":[1,\"two\",{}]}}");
  EXPECT_EQ(c.publish.data, "[1,\"two\",{}]");
}

TEST_F(JsonCodecDecodeTest, CapturesRawStringDataWithQuotesAndEscapes) {
  Command c = one("{\"id\":3,\"publish\":{\"channel\":\"c\",\"data\":\"x\\\"y\\u0041\"}}");
  EXPECT_EQ(c.publish.data, "\"x\\\"y\\u0041\"");
}

TEST_F(JsonCodecDecodeTest, CapturesRawNumberDataWithoutTrailingWhitespace) {
  Command c = one("{\"id\":3,\"publish\":{\"data\":-12.5e3 ,\"channel\":\"c\"}}");
  EXPECT_EQ(c.publish.data, "-12.5e3");
  Command last = one("{\"id\":3,\"publish\":{\"channel\":\"c\",\"data\":42 }}");
  EXPECT_EQ(last.publish.data, "42");
}

TEST_F(JsonCodecDecodeTest, CapturesRawBooleanData) {
  EXPECT_EQ(one("{\"id\":3,\"publish\":{\"channel\":\"c\",\"data\":true}}").publish.data, "true");
  EXPECT_EQ(one("{\"id\":3,\"publish\":{\"channel\":\"c\",\"data\":false}}").publish.data,
            "false");
}

TEST_F(JsonCodecDecodeTest, CapturesRawDataOfRpcSendAndSubscribe) {
  Command rpc = one("{\"rpc\":{\"method\":\"get_time\",\"data\":{}},\"id\":7}");
  EXPECT_EQ(rpc.method, Method::kRpc);
  EXPECT_EQ(rpc.rpc.method, "get_time");
  EXPECT_EQ(rpc.rpc.data, "{}");
  Command send = one("{\"send\":{\"data\":[1]}}");
  EXPECT_EQ(send.id, 0u);
  EXPECT_EQ(send.method, Method::kSend);
  EXPECT_EQ(send.send.data, "[1]");
  Command sub = one("{\"id\":2,\"subscribe\":{\"channel\":\"c\",\"data\":{\"k\":\"v\"}}}");
  EXPECT_EQ(sub.subscribe.data, "{\"k\":\"v\"}");
}

TEST_F(JsonCodecDecodeTest, IdMustBeUnsignedInteger) {
  EXPECT_FALSE(decodes("{\"id\":\"1\",\"presence\":{\"channel\":\"c\"}}"));
  EXPECT_FALSE(decodes("{\"id\":-1,\"presence\":{\"channel\":\"c\"}}"));
  EXPECT_FALSE(decodes("{\"id\":1.5,\"presence\":{\"channel\":\"c\"}}"));
  EXPECT_FALSE(decodes("{\"id\":true,\"presence\":{\"channel\":\"c\"}}"));
}

TEST_F(JsonCodecDecodeTest, IdMustFitInUint32) {
  EXPECT_EQ(one("{\"id\":4294967295,\"presence\":{\"channel\":\"c\"}}").id, 4294967295u);
  EXPECT_FALSE(decodes("{\"id\":4294967296,\"presence\":{\"channel\":\"c\"}}"));
}

TEST_F(JsonCodecDecodeTest, FieldTypesAreStrict) {
  EXPECT_FALSE(decodes("{\"id\":1,\"subscribe\":{\"channel\":5}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"subscribe\":{\"channel\":\"c\",\"recover\":\"true\"}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"subscribe\":{\"channel\":\"c\",\"offset\":\"4\"}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"subscribe\":{\"channel\":\"c\",\"offset\":-4}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"history\":{\"channel\":\"c\",\"limit\":2147483648}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"connect\":{\"token\":1}}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"subscribe\":\"c\"}"));
  EXPECT_FALSE(decodes("{\"id\":1,\"ping\":{\"x\":1},\"connect\":[]}"));
}

TEST_F(JsonCodecDecodeTest, DecodesFullSubscribeRequest) {
  Command c = one(
      "{\"subscribe\":{\"channel\":\"chat:lobby\",\"token\":\"st\",\"recover\":true,\"epoch\":"
      "\"HgQpZtRn\",\"offset\":18446744073709551615,\"data\":{\"d\":1},\"positioned\":true,"
      "\"recoverable\":true,\"join_leave\":true,\"delta\":\"fossil\",\"flag\":3,\"type\":0},"
      "\"id\":10}");
  const SubscribeRequest& s = c.subscribe;
  EXPECT_EQ(s.channel, "chat:lobby");
  EXPECT_EQ(s.token, "st");
  EXPECT_TRUE(s.recover);
  EXPECT_EQ(s.epoch, "HgQpZtRn");
  EXPECT_EQ(s.offset, 18446744073709551615ull);
  EXPECT_EQ(s.data, "{\"d\":1}");
  EXPECT_TRUE(s.positioned);
  EXPECT_TRUE(s.recoverable);
  EXPECT_TRUE(s.join_leave);
  EXPECT_EQ(s.delta, "fossil");
  EXPECT_EQ(s.flag, 3);
  EXPECT_EQ(s.type, 0);
}

TEST_F(JsonCodecDecodeTest, DecodesHistoryRequestWithSince) {
  Command c = one(
      "{\"history\":{\"channel\":\"c\",\"limit\":-1,\"reverse\":true,\"since\":{\"offset\":4,"
      "\"epoch\":\"abcd\"}},\"id\":6}");
  EXPECT_EQ(c.method, Method::kHistory);
  EXPECT_EQ(c.history.channel, "c");
  EXPECT_EQ(c.history.limit, -1);
  EXPECT_TRUE(c.history.reverse);
  ASSERT_TRUE(c.history.since.has_value());
  EXPECT_EQ(c.history.since->offset, 4u);
  EXPECT_EQ(c.history.since->epoch, "abcd");
}

TEST_F(JsonCodecDecodeTest, HistoryWithoutSinceHasNoPosition) {
  Command c = one("{\"history\":{\"channel\":\"c\",\"limit\":2,\"since\":null},\"id\":6}");
  EXPECT_EQ(c.history.limit, 2);
  EXPECT_FALSE(c.history.since.has_value());
  EXPECT_FALSE(c.history.reverse);
}

TEST_F(JsonCodecDecodeTest, DecodesChannelRequests) {
  Command u = one("{\"unsubscribe\":{\"channel\":\"a\"},\"id\":11}");
  EXPECT_EQ(u.method, Method::kUnsubscribe);
  EXPECT_EQ(u.channel.channel, "a");
  Command p = one("{\"presence\":{\"channel\":\"b\"},\"id\":4}");
  EXPECT_EQ(p.method, Method::kPresence);
  EXPECT_EQ(p.channel.channel, "b");
  Command ps = one("{\"presence_stats\":{\"channel\":\"d\"},\"id\":5}");
  EXPECT_EQ(ps.method, Method::kPresenceStats);
  EXPECT_EQ(ps.channel.channel, "d");
}

TEST_F(JsonCodecDecodeTest, DecodesRefreshAndSubRefresh) {
  Command r = one("{\"refresh\":{\"token\":\"t2\"},\"id\":12}");
  EXPECT_EQ(r.method, Method::kRefresh);
  EXPECT_EQ(r.refresh.token, "t2");
  Command sr = one("{\"sub_refresh\":{\"channel\":\"c\",\"token\":\"t3\"},\"id\":13}");
  EXPECT_EQ(sr.method, Method::kSubRefresh);
  EXPECT_EQ(sr.sub_refresh.channel, "c");
  EXPECT_EQ(sr.sub_refresh.token, "t3");
}

TEST_F(JsonCodecDecodeTest, PingRequestIsDetected) {
  Command c = one("{\"id\":3,\"ping\":{}}");
  EXPECT_EQ(c.method, Method::kPing);
}

TEST_F(JsonCodecDecodeTest, DecodesConnectSubsAndHeaders) {
  Command c = one(
      "{\"connect\":{\"token\":\"t\",\"data\":{\"x\":1},\"name\":\"js\",\"version\":\"5.0\","
      "\"subs\":{\"#42\":{\"recover\":true,\"offset\":8,\"epoch\":\"QwEr\"},\"news\":{}},"
      "\"headers\":{\"X-A\":\"1\",\"X-B\":\"2\"},\"flag\":1,\"profile\":\"p\"},\"id\":1}");
  const ConnectRequest& r = c.connect;
  EXPECT_EQ(r.token, "t");
  EXPECT_EQ(r.data, "{\"x\":1}");
  EXPECT_EQ(r.name, "js");
  EXPECT_EQ(r.version, "5.0");
  ASSERT_EQ(r.subs.size(), 2u);
  EXPECT_EQ(r.subs[0].first, "#42");
  EXPECT_EQ(r.subs[0].second.channel, "#42");
  EXPECT_TRUE(r.subs[0].second.recover);
  EXPECT_EQ(r.subs[0].second.offset, 8u);
  EXPECT_EQ(r.subs[0].second.epoch, "QwEr");
  EXPECT_EQ(r.subs[1].first, "news");
  EXPECT_FALSE(r.subs[1].second.recover);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"X-A", "1"}));
  EXPECT_EQ(r.headers[1], (std::pair<std::string, std::string>{"X-B", "2"}));
}

TEST_F(JsonCodecDecodeTest, RejectsNonStringHeaderValue) {
  EXPECT_FALSE(decodes("{\"connect\":{\"headers\":{\"X-A\":1}},\"id\":1}"));
}

TEST_F(JsonCodecDecodeTest, UnescapesStringFields) {
  Command c = one("{\"id\":1,\"subscribe\":{\"channel\":\"a\\\"b\\\\c\\u00e9\\n\"}}");
  EXPECT_EQ(c.subscribe.channel, "a\"b\\c\xc3\xa9\n");
}

// Centrifuge acts on the first request in the order connect, ping, subscribe, unsubscribe,
// publish, presence, presence_stats, history, rpc, send, refresh, sub_refresh (§4.1.6),
// regardless of key order in the JSON object.
TEST_F(JsonCodecDecodeTest, ConnectWinsOverEverything) {
  Command c = one(
      "{\"sub_refresh\":{},\"refresh\":{},\"send\":{},\"rpc\":{},\"history\":{},"
      "\"presence_stats\":{},\"presence\":{},\"publish\":{},\"unsubscribe\":{},"
      "\"subscribe\":{},\"ping\":{},\"connect\":{},\"id\":1}");
  EXPECT_EQ(c.method, Method::kConnect);
}

TEST_F(JsonCodecDecodeTest, MethodDetectionFollowsCentrifugeOrder) {
  struct Case {
    const char* json;
    Method want;
  };
  const Case cases[] = {
      {"{\"subscribe\":{},\"ping\":{},\"id\":1}", Method::kPing},
      {"{\"unsubscribe\":{},\"subscribe\":{},\"id\":1}", Method::kSubscribe},
      {"{\"publish\":{},\"unsubscribe\":{},\"id\":1}", Method::kUnsubscribe},
      {"{\"presence\":{},\"publish\":{},\"id\":1}", Method::kPublish},
      {"{\"presence_stats\":{},\"presence\":{},\"id\":1}", Method::kPresence},
      {"{\"history\":{},\"presence_stats\":{},\"id\":1}", Method::kPresenceStats},
      {"{\"rpc\":{},\"history\":{},\"id\":1}", Method::kHistory},
      {"{\"send\":{},\"rpc\":{},\"id\":1}", Method::kRpc},
      {"{\"refresh\":{},\"send\":{},\"id\":1}", Method::kSend},
      {"{\"sub_refresh\":{},\"refresh\":{},\"id\":1}", Method::kRefresh},
      {"{\"sub_refresh\":{},\"id\":1}", Method::kSubRefresh},
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(one(tc.json).method, tc.want) << tc.json;
  }
}

TEST_F(JsonCodecDecodeTest, DecodeConnectRequestNullIsEmpty) {
  ConnectRequest r;
  r.token = "preset";
  ASSERT_TRUE(json_codec().decode_connect_request("null", r));
  EXPECT_EQ(r.token, "preset");  // nothing assigned
  EXPECT_TRUE(r.subs.empty());
}

TEST_F(JsonCodecDecodeTest, DecodeConnectRequestObjectFillsFields) {
  ConnectRequest r;
  ASSERT_TRUE(json_codec().decode_connect_request(
      "{\"token\":\"<JWT>\",\"subs\":{\"#42\":{\"recover\":true,\"offset\":8,\"epoch\":"
      "\"QwErTyUi\"}},\"name\":\"uni\",\"data\":[1]}",
      r));
  EXPECT_EQ(r.token, "<JWT>");
  EXPECT_EQ(r.name, "uni");
  EXPECT_EQ(r.data, "[1]");
  ASSERT_EQ(r.subs.size(), 1u);
  EXPECT_EQ(r.subs[0].first, "#42");
  EXPECT_TRUE(r.subs[0].second.recover);
  EXPECT_EQ(r.subs[0].second.offset, 8u);
  EXPECT_EQ(r.subs[0].second.epoch, "QwErTyUi");
}

TEST_F(JsonCodecDecodeTest, DecodeConnectRequestEmptyObjectIsEmpty) {
  ConnectRequest r;
  ASSERT_TRUE(json_codec().decode_connect_request("{}", r));
  EXPECT_EQ(r.token, "");
}

TEST_F(JsonCodecDecodeTest, DecodeConnectRequestRejectsInvalidInput) {
  ConnectRequest r;
  EXPECT_FALSE(json_codec().decode_connect_request("{", r));
  EXPECT_FALSE(json_codec().decode_connect_request("[]", r));
  EXPECT_FALSE(json_codec().decode_connect_request("\"x\"", r));
  EXPECT_FALSE(json_codec().decode_connect_request("5", r));
  EXPECT_FALSE(json_codec().decode_connect_request("{\"token\":1}", r));
  EXPECT_FALSE(json_codec().decode_connect_request("{} x", r));
}

TEST(IsValidJsonTest, AcceptsAnySingleJsonValue) {
  EXPECT_TRUE(valid_json("{\"a\":1}"));
  EXPECT_TRUE(valid_json("[1,2]"));
  EXPECT_TRUE(valid_json("\"s\""));
  EXPECT_TRUE(valid_json("1"));
  EXPECT_TRUE(valid_json("true"));
  EXPECT_TRUE(valid_json("null"));
  EXPECT_TRUE(valid_json(" {\"a\":\n1} "));
}

TEST(IsValidJsonTest, RejectsEmptyBinaryAndMalformed) {
  EXPECT_FALSE(valid_json(""));
  EXPECT_FALSE(valid_json(" "));
  EXPECT_FALSE(valid_json("{"));
  EXPECT_FALSE(valid_json("{\"a\":1} x"));
  EXPECT_FALSE(valid_json("1 2"));
  EXPECT_FALSE(valid_json(std::string_view("\x08\x96\x01", 3)));
  EXPECT_FALSE(valid_json("\"\xff\""));
  EXPECT_FALSE(valid_json("abc"));
}

}  // namespace
}  // namespace gyre::protocol
