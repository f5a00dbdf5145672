#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocol/codec.h"

// Exact bytes of every JSON reply and push (client-protocol.md §2.2, §3, §4.15, §10.1, §10.5).
namespace gyre::protocol {
namespace {

constexpr const char* kClient42 = "3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20";
constexpr const char* kClient7 = "8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b";

class JsonCodecEncodeTest : public ::testing::Test {
 protected:
  const Codec& codec = json_codec();
  std::string out;

  static ClientInfo info(std::string user, std::string client) {
    ClientInfo i;
    i.user = std::move(user);
    i.client = std::move(client);
    return i;
  }
  static std::shared_ptr<const Publication> pub(std::string data, uint64_t offset,
                                                std::optional<ClientInfo> who) {
    Publication p;
    p.data = std::move(data);
    p.offset = offset;
    p.info = std::move(who);
    return std::make_shared<const Publication>(std::move(p));
  }
};

TEST_F(JsonCodecEncodeTest, ConnectReplyMatchesWorkedSession) {
  ConnectResult r;
  r.client = kClient42;
  r.version = "6.3.0";
  r.ping = 25;
  r.pong = true;
  codec.encode_connect(out, 1, r);
  EXPECT_EQ(out,
            "{\"id\":1,\"connect\":{\"client\":\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\","
            "\"version\":\"6.3.0\",\"ping\":25,\"pong\":true}}");
}

TEST_F(JsonCodecEncodeTest, ConnectReplyWritesClientEvenWhenEmpty) {
  codec.encode_connect(out, 1, ConnectResult{});
  EXPECT_EQ(out, "{\"id\":1,\"connect\":{\"client\":\"\"}}");
}

TEST_F(JsonCodecEncodeTest, ConnectReplyWritesAllFieldsInProtoOrder) {
  ConnectResult r;
  r.client = "c";
  r.version = "v";
  r.expires = true;
  r.ttl = 60;
  r.data = "{\"x\":1}";
  SubscribeResult s;
  s.recoverable = true;
  s.epoch = "abcd";
  s.offset = 7;
  s.positioned = true;
  r.subs.emplace_back("#42", s);
  r.ping = 25;
  r.pong = true;
  r.session = "sess";
  r.node = "node1";
  r.time = 1700000000000;
  codec.encode_connect(out, 57, r);
  EXPECT_EQ(out,
            "{\"id\":57,\"connect\":{\"client\":\"c\",\"version\":\"v\",\"expires\":true,\"ttl\":60,"
            "\"data\":{\"x\":1},\"subs\":{\"#42\":{\"recoverable\":true,\"epoch\":\"abcd\","
            "\"offset\":7,\"positioned\":true}},\"ping\":25,\"pong\":true,\"session\":\"sess\","
            "\"node\":\"node1\",\"time\":1700000000000}}");
}

TEST_F(JsonCodecEncodeTest, UniConnectPushMatchesSection105) {
  ConnectResult r;
  r.client = "cid";
  r.version = "6.3.0";
  SubscribeResult s;
  s.recoverable = true;
  s.epoch = "QwErTyUi";
  s.offset = 7;
  s.positioned = true;
  r.subs.emplace_back("#42", s);
  r.ping = 25;
  r.session = "sid";
  codec.encode_connect_push(out, r);
  EXPECT_EQ(out,
            "{\"connect\":{\"client\":\"cid\",\"version\":\"6.3.0\",\"subs\":{\"#42\":{"
            "\"recoverable\":true,\"epoch\":\"QwErTyUi\",\"offset\":7,\"positioned\":true}},"
            "\"ping\":25,\"session\":\"sid\"}}");
}

TEST_F(JsonCodecEncodeTest, UniConnectPushPutsDataAndSubsBeforeExpiry) {
  ConnectResult r;
  r.client = "c";
  r.expires = true;
  r.ttl = 10;
  r.data = "1";
  codec.encode_connect_push(out, r);
  EXPECT_EQ(out,
            "{\"connect\":{\"client\":\"c\",\"data\":1,\"expires\":true,\"ttl\":10}}");
}

TEST_F(JsonCodecEncodeTest, SubscribeReplyPositionedMatchesWorkedSession) {
  SubscribeResult r;
  r.recoverable = true;
  r.epoch = "HgQpZtRn";
  r.offset = 2;
  r.positioned = true;
  codec.encode_subscribe(out, 2, r);
  EXPECT_EQ(out,
            "{\"id\":2,\"subscribe\":{\"recoverable\":true,\"epoch\":\"HgQpZtRn\",\"offset\":2,"
            "\"positioned\":true}}");
}

TEST_F(JsonCodecEncodeTest, SubscribeReplyRecoveredMatchesWorkedSession) {
  SubscribeResult r;
  r.recoverable = true;
  r.epoch = "HgQpZtRn";
  r.publications.push_back(pub("{\"text\":\"you missed this\"}", 5, info("7", kClient7)));
  r.recovered = true;
  r.offset = 4;
  r.positioned = true;
  r.was_recovering = true;
  codec.encode_subscribe(out, 10, r);
  EXPECT_EQ(out,
            "{\"id\":10,\"subscribe\":{\"recoverable\":true,\"epoch\":\"HgQpZtRn\","
            "\"publications\":[{\"data\":{\"text\":\"you missed this\"},\"info\":{\"user\":\"7\","
            "\"client\":\"8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b\"},\"offset\":5}],"
            "\"recovered\":true,\"offset\":4,\"positioned\":true,\"was_recovering\":true}}");
}

TEST_F(JsonCodecEncodeTest, SubscribeReplyNotRecoveredMatchesWorkedSession) {
  SubscribeResult r;
  r.recoverable = true;
  r.epoch = "HgQpZtRn";
  r.offset = 9;
  r.positioned = true;
  r.was_recovering = true;
  codec.encode_subscribe(out, 10, r);
  EXPECT_EQ(out,
            "{\"id\":10,\"subscribe\":{\"recoverable\":true,\"epoch\":\"HgQpZtRn\",\"offset\":9,"
            "\"positioned\":true,\"was_recovering\":true}}");
}

TEST_F(JsonCodecEncodeTest, SubscribeReplyWritesEveryFieldInProtoOrder) {
  SubscribeResult r;
  r.expires = true;
  r.ttl = 30;
  r.recoverable = true;
  r.epoch = "e";
  r.publications.push_back(pub("1", 3, std::nullopt));
  r.recovered = true;
  r.offset = 2;
  r.positioned = true;
  r.data = "{\"d\":true}";
  r.was_recovering = true;
  r.delta = true;
  codec.encode_subscribe(out, 2, r);
  // With delta negotiated, recovered publications carry data as a JSON string (§9.3).
  EXPECT_EQ(out,
            "{\"id\":2,\"subscribe\":{\"expires\":true,\"ttl\":30,\"recoverable\":true,"
            "\"epoch\":\"e\",\"publications\":[{\"data\":\"1\",\"offset\":3}],\"recovered\":true,"
            "\"offset\":2,\"positioned\":true,\"data\":{\"d\":true},\"was_recovering\":true,"
            "\"delta\":true}}");
}

TEST_F(JsonCodecEncodeTest, EmptySubscribeResultIsEmptyObject) {
  codec.encode_subscribe(out, 2, SubscribeResult{});
  EXPECT_EQ(out, "{\"id\":2,\"subscribe\":{}}");
}

TEST_F(JsonCodecEncodeTest, ErrorReplyMatchesWorkedSession) {
  codec.encode_error(out, 7, errors::not_available());
  EXPECT_EQ(out, "{\"id\":7,\"error\":{\"code\":108,\"message\":\"not available\"}}");
  out.clear();
  codec.encode_error(out, 8, errors::unknown_channel());
  EXPECT_EQ(out, "{\"id\":8,\"error\":{\"code\":102,\"message\":\"unknown channel\"}}");
}

TEST_F(JsonCodecEncodeTest, TemporaryErrorWritesTemporaryTrue) {
  codec.encode_error(out, 3, errors::internal());
  EXPECT_EQ(out,
            "{\"id\":3,\"error\":{\"code\":100,\"message\":\"internal server error\","
            "\"temporary\":true}}");
}

TEST_F(JsonCodecEncodeTest, EmptyResultRepliesAreEmptyObjects) {
  codec.encode_empty(out, 3, Method::kPublish);
  EXPECT_EQ(out, "{\"id\":3,\"publish\":{}}");
  out.clear();
  codec.encode_empty(out, 11, Method::kUnsubscribe);
  EXPECT_EQ(out, "{\"id\":11,\"unsubscribe\":{}}");
}

TEST_F(JsonCodecEncodeTest, PresenceReplyMatchesWorkedSession) {
  PresenceResult r;
  r.presence.emplace_back(kClient42, info("42", kClient42));
  r.presence.emplace_back(kClient7, info("7", kClient7));
  codec.encode_presence(out, 4, r);
  EXPECT_EQ(out,
            "{\"id\":4,\"presence\":{\"presence\":{\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\":{"
            "\"user\":\"42\",\"client\":\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\"},"
            "\"8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b\":{\"user\":\"7\",\"client\":"
            "\"8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b\"}}}}");
}

TEST_F(JsonCodecEncodeTest, EmptyPresenceAlwaysWritesPresenceMap) {
  codec.encode_presence(out, 4, PresenceResult{});
  EXPECT_EQ(out, "{\"id\":4,\"presence\":{\"presence\":{}}}");
}

TEST_F(JsonCodecEncodeTest, PresenceStatsMatchesWorkedSession) {
  codec.encode_presence_stats(out, 5, PresenceStatsResult{2, 2});
  EXPECT_EQ(out, "{\"id\":5,\"presence_stats\":{\"num_clients\":2,\"num_users\":2}}");
}

TEST_F(JsonCodecEncodeTest, PresenceStatsAlwaysWritesBothCounts) {
  codec.encode_presence_stats(out, 5, PresenceStatsResult{});
  EXPECT_EQ(out, "{\"id\":5,\"presence_stats\":{\"num_clients\":0,\"num_users\":0}}");
}

TEST_F(JsonCodecEncodeTest, HistoryReplyMatchesWorkedSession) {
  HistoryResult r;
  r.publications.push_back(pub("{\"text\":\"hello\"}", 4, info("42", kClient42)));
  r.publications.push_back(pub("{\"text\":\"hi from 7\"}", 3, info("7", kClient7)));
  r.epoch = "HgQpZtRn";
  r.offset = 4;
  codec.encode_history(out, 6, r);
  EXPECT_EQ(out,
            "{\"id\":6,\"history\":{\"publications\":[{\"data\":{\"text\":\"hello\"},\"info\":{"
            "\"user\":\"42\",\"client\":\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\"},\"offset\":4},"
            "{\"data\":{\"text\":\"hi from 7\"},\"info\":{\"user\":\"7\",\"client\":"
            "\"8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b\"},\"offset\":3}],\"epoch\":\"HgQpZtRn\","
            "\"offset\":4}}");
}

TEST_F(JsonCodecEncodeTest, HistoryWithoutPublicationsStillWritesAllThreeFields) {
  HistoryResult r;
  r.epoch = "HgQpZtRn";
  r.offset = 4;
  codec.encode_history(out, 6, r);
  EXPECT_EQ(out, "{\"id\":6,\"history\":{\"publications\":[],\"epoch\":\"HgQpZtRn\",\"offset\":4}}");
  out.clear();
  codec.encode_history(out, 6, HistoryResult{});
  EXPECT_EQ(out, "{\"id\":6,\"history\":{\"publications\":[],\"epoch\":\"\",\"offset\":0}}");
}

TEST_F(JsonCodecEncodeTest, RpcReplyIsPresentEvenWithoutData) {
  codec.encode_rpc(out, 7, RpcResult{});
  EXPECT_EQ(out, "{\"id\":7,\"rpc\":{}}");
  out.clear();
  codec.encode_rpc(out, 7, RpcResult{"{\"t\":1}"});
  EXPECT_EQ(out, "{\"id\":7,\"rpc\":{\"data\":{\"t\":1}}}");
}

TEST_F(JsonCodecEncodeTest, RefreshReplyWritesSetFieldsOnly) {
  codec.encode_refresh(out, 12, RefreshResult{});
  EXPECT_EQ(out, "{\"id\":12,\"refresh\":{}}");
  out.clear();
  codec.encode_refresh(out, 12, RefreshResult{"cid", "6.3.0", true, 3600});
  EXPECT_EQ(out,
            "{\"id\":12,\"refresh\":{\"client\":\"cid\",\"version\":\"6.3.0\",\"expires\":true,"
            "\"ttl\":3600}}");
}

TEST_F(JsonCodecEncodeTest, SubRefreshReplyWritesExpiry) {
  codec.encode_sub_refresh(out, 13, SubRefreshResult{true, 90});
  EXPECT_EQ(out, "{\"id\":13,\"sub_refresh\":{\"expires\":true,\"ttl\":90}}");
  out.clear();
  codec.encode_sub_refresh(out, 13, SubRefreshResult{});
  EXPECT_EQ(out, "{\"id\":13,\"sub_refresh\":{}}");
}

TEST_F(JsonCodecEncodeTest, PublicationPushMatchesWorkedSession) {
  codec.encode_pub(out, "chat:lobby", *pub("{\"text\":\"hello\"}", 4, info("42", kClient42)),
                   false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"pub\":{\"data\":{\"text\":\"hello\"},"
            "\"info\":{\"user\":\"42\",\"client\":\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\"},"
            "\"offset\":4}}}");
}

TEST_F(JsonCodecEncodeTest, UniPublicationPushHasNoPushWrapper) {
  codec.encode_pub(out, "#42", *pub("{\"alert\":\"hi\"}", 8, std::nullopt), true);
  EXPECT_EQ(out, "{\"channel\":\"#42\",\"pub\":{\"data\":{\"alert\":\"hi\"},\"offset\":8}}");
}

TEST_F(JsonCodecEncodeTest, PublicationWithoutHistoryOmitsOffset) {
  codec.encode_pub(out, "c", *pub("{}", 0, std::nullopt), false);
  EXPECT_EQ(out, "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":{}}}}");
}

TEST_F(JsonCodecEncodeTest, AnonymousClientInfoWritesEmptyUser) {
  codec.encode_pub(out, "c", *pub("1", 2, info("", "")), false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":1,\"info\":{\"user\":\"\","
            "\"client\":\"\"},\"offset\":2}}}");
}

TEST_F(JsonCodecEncodeTest, PublicationWritesEpochOnlyAtOffsetOne) {
  Publication p;
  p.data = "1";
  p.offset = 1;
  p.epoch = "abcd";
  codec.encode_pub(out, "c", p, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":1,\"offset\":1,\"epoch\":\"abcd\"}}}");
  out.clear();
  p.offset = 2;
  codec.encode_pub(out, "c", p, false);
  EXPECT_EQ(out, "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":1,\"offset\":2}}}");
}

TEST_F(JsonCodecEncodeTest, PublicationWritesTagsAndDeltaAndNeverTime) {
  Publication p;
  p.data = "\"patch\"";
  p.offset = 3;
  p.tags = {{"a", "1"}, {"b", "x y"}};
  p.delta = true;
  p.time = 1700000000000;
  codec.encode_pub(out, "c", p, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":\"patch\",\"offset\":3,\"tags\":{"
            "\"a\":\"1\",\"b\":\"x y\"},\"delta\":true}}}");
}

TEST_F(JsonCodecEncodeTest, TagKeysAreEscaped) {
  Publication p;
  p.data = "1";
  p.tags = {{"k\"ey\\", "v\"al"}};
  codec.encode_pub(out, "c", p, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":1,\"tags\":{\"k\\\"ey\\\\\":"
            "\"v\\\"al\"}}}}");
  EXPECT_TRUE(valid_json(out));
}

TEST_F(JsonCodecEncodeTest, SubsChannelKeysAreEscaped) {
  ConnectResult r;
  r.client = "c";
  r.subs.emplace_back("a\"b", SubscribeResult{});
  codec.encode_connect(out, 1, r);
  EXPECT_EQ(out, "{\"id\":1,\"connect\":{\"client\":\"c\",\"subs\":{\"a\\\"b\":{}}}}");
  EXPECT_TRUE(valid_json(out));
}

TEST_F(JsonCodecEncodeTest, ClientInfoWritesConnInfoAndChanInfoRaw) {
  ClientInfo i = info("42", "cid");
  i.conn_info = "{\"name\":\"A\"}";
  i.chan_info = "[1]";
  codec.encode_join(out, "chat:lobby", i, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"join\":{\"info\":{\"user\":\"42\","
            "\"client\":\"cid\",\"conn_info\":{\"name\":\"A\"},\"chan_info\":[1]}}}}");
}

TEST_F(JsonCodecEncodeTest, JoinPushMatchesWorkedSession) {
  codec.encode_join(out, "chat:lobby", info("42", kClient42), false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"join\":{\"info\":{\"user\":\"42\","
            "\"client\":\"3c1e4b2a-9f7d-4e61-8a52-0b7c9d3e1f20\"}}}}");
}

TEST_F(JsonCodecEncodeTest, LeavePushMatchesWorkedSession) {
  codec.encode_leave(out, "chat:lobby", info("7", kClient7), false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"leave\":{\"info\":{\"user\":\"7\","
            "\"client\":\"8e2d7c6b-5a49-4f38-9b27-1c6d5e4f3a2b\"}}}}");
}

TEST_F(JsonCodecEncodeTest, UniJoinAndLeaveHaveNoPushWrapper) {
  codec.encode_join(out, "c", info("1", "a"), true);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"join\":{\"info\":{\"user\":\"1\",\"client\":\"a\"}}}");
  out.clear();
  codec.encode_leave(out, "c", info("1", "a"), true);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"leave\":{\"info\":{\"user\":\"1\",\"client\":\"a\"}}}");
}

TEST_F(JsonCodecEncodeTest, UnsubscribePushMatchesSection101) {
  codec.encode_unsubscribe(out, "chat:lobby", Unsubscribe{2000, "server unsubscribe"}, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"unsubscribe\":{\"code\":2000,\"reason\":"
            "\"server unsubscribe\"}}}");
  out.clear();
  codec.encode_unsubscribe(out, "chat:lobby", Unsubscribe{2500, "insufficient state"}, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat:lobby\",\"unsubscribe\":{\"code\":2500,\"reason\":"
            "\"insufficient state\"}}}");
}

TEST_F(JsonCodecEncodeTest, SubscribePushMatchesSection101) {
  SubscribePush s;
  s.recoverable = true;
  s.epoch = "aBcDeFgH";
  s.offset = 12;
  s.positioned = true;
  codec.encode_subscribe_push(out, "user:42", s, false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"user:42\",\"subscribe\":{\"recoverable\":true,\"epoch\":"
            "\"aBcDeFgH\",\"offset\":12,\"positioned\":true}}}");
}

TEST_F(JsonCodecEncodeTest, SubscribePushWritesDataLast) {
  SubscribePush s;
  s.data = "{\"a\":1}";
  codec.encode_subscribe_push(out, "c", s, true);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"subscribe\":{\"data\":{\"a\":1}}}");
}

TEST_F(JsonCodecEncodeTest, MessagePushHasNoChannel) {
  codec.encode_message(out, "{\"text\":\"direct message\"}", false);
  EXPECT_EQ(out, "{\"push\":{\"message\":{\"data\":{\"text\":\"direct message\"}}}}");
  out.clear();
  codec.encode_message(out, "1", true);
  EXPECT_EQ(out, "{\"message\":{\"data\":1}}");
}

TEST_F(JsonCodecEncodeTest, DisconnectPushMatchesSection10) {
  codec.encode_disconnect(out, disconnects::force_no_reconnect(), false);
  EXPECT_EQ(out, "{\"push\":{\"disconnect\":{\"code\":3503,\"reason\":\"force disconnect\"}}}");
  out.clear();
  codec.encode_disconnect(out, disconnects::force_no_reconnect(), true);
  EXPECT_EQ(out, "{\"disconnect\":{\"code\":3503,\"reason\":\"force disconnect\"}}");
}

TEST_F(JsonCodecEncodeTest, RefreshPushMatchesSection415) {
  codec.encode_refresh_push(out, RefreshPush{true, 3600}, false);
  EXPECT_EQ(out, "{\"push\":{\"refresh\":{\"expires\":true,\"ttl\":3600}}}");
  out.clear();
  codec.encode_refresh_push(out, RefreshPush{true, 3600}, true);
  EXPECT_EQ(out, "{\"refresh\":{\"expires\":true,\"ttl\":3600}}");
}

TEST_F(JsonCodecEncodeTest, PingIsEmptyObject) {
  codec.encode_ping(out);
  EXPECT_EQ(out, "{}");
}

TEST_F(JsonCodecEncodeTest, EncodersAppendOneUnframedMessage) {
  out = "prefix|";
  codec.encode_empty(out, 3, Method::kPublish);
  codec.encode_ping(out);
  EXPECT_EQ(out, "prefix|{\"id\":3,\"publish\":{}}{}");
}

TEST_F(JsonCodecEncodeTest, RawDataNewlinesAreStripped) {
  codec.encode_pub(out, "c", *pub("{\n  \"a\": 1,\n  \"b\": [\r\n2]\n}\n", 0, std::nullopt),
                   false);
  EXPECT_EQ(out, "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":{  \"a\": 1,  \"b\": [\r2]}}}}");
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST_F(JsonCodecEncodeTest, StringsAreEscaped) {
  codec.encode_unsubscribe(out, "ch\"\\", Unsubscribe{2000, std::string("q\"b\\s\n\r\t\b\f\x01\x1f\x7f\xc3\xa9/", 16)},
                           false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"ch\\\"\\\\\",\"unsubscribe\":{\"code\":2000,\"reason\":"
            "\"q\\\"b\\\\s\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\xc3\xa9/\"}}}");
  EXPECT_TRUE(valid_json(out));
}

TEST_F(JsonCodecEncodeTest, NulByteInStringIsEscaped) {
  codec.encode_message(out, "", false);
  EXPECT_EQ(out, "{\"push\":{\"message\":{}}}");
  out.clear();
  codec.encode_disconnect(out, Disconnect{3000, std::string("a\0b", 3)}, true);
  EXPECT_EQ(out, "{\"disconnect\":{\"code\":3000,\"reason\":\"a\\u0000b\"}}");
}

TEST_F(JsonCodecEncodeTest, LargeOffsetsAreWrittenAsPlainNumbers) {
  codec.encode_pub(out, "c", *pub("1", 18446744073709551615ull, std::nullopt), false);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"c\",\"pub\":{\"data\":1,\"offset\":18446744073709551615}}}");
}

TEST_F(JsonCodecEncodeTest, EncodedRepliesDecodeAsValidJson) {
  ConnectResult r;
  r.client = "c";
  codec.encode_connect(out, 1, r);
  EXPECT_TRUE(valid_json(out));
}

}  // namespace
}  // namespace gyre::protocol
