#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec.h"
#include "protocol/protobuf_wire.h"

// Protobuf encoding of the client protocol (client-protocol.md §2.3, §3, §10.2). Expected bytes
// are assembled here with a tiny independent builder, not with the codec's own wire helpers.
namespace gyre::protocol {
namespace {

// ---------------------------------------------------------------- byte builders

std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}

// Varint field (wire type 0).
std::string vf(uint32_t field, uint64_t v) { return varint(uint64_t{field} << 3) + varint(v); }
// Length-delimited field (wire type 2): string, bytes or sub-message.
std::string lf(uint32_t field, std::string_view body) {
  return varint((uint64_t{field} << 3) | 2) + varint(body.size()) + std::string(body);
}
// One frame item: varint length + message (protobufjs encodeDelimited).
std::string framed(std::string_view message) {
  return varint(message.size()) + std::string(message);
}

// "0D 08 01" -> bytes.
std::string unhex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) {
      continue;
    }
    if (hi < 0) {
      hi = d;
    } else {
      out.push_back(static_cast<char>(hi * 16 + d));
      hi = -1;
    }
  }
  return out;
}

std::string tohex(std::string_view b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : b) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

ClientInfo info(std::string user, std::string client) {
  ClientInfo i;
  i.user = std::move(user);
  i.client = std::move(client);
  return i;
}

// ---------------------------------------------------------------- decoding

class ProtobufCodecDecodeTest : public ::testing::Test {
 protected:
  const Codec& codec = protobuf_codec();

  std::vector<Command> ok(std::string_view frame) {
    std::vector<Command> out;
    EXPECT_TRUE(codec.decode_commands(frame, out)) << tohex(frame);
    return out;
  }
  bool decodes(std::string_view frame) {
    std::vector<Command> out;
    return codec.decode_commands(frame, out);
  }
  // Decodes one framed Command message.
  Command one(std::string_view message) {
    auto cmds = ok(framed(message));
    EXPECT_EQ(cmds.size(), 1u);
    return cmds.empty() ? Command{} : cmds[0];
  }
};

TEST_F(ProtobufCodecDecodeTest, TypeIsProtobuf) {
  EXPECT_EQ(codec.type(), ProtocolType::kProtobuf);
}

TEST_F(ProtobufCodecDecodeTest, ConnectFromWorkedExample) {
  auto cmds = ok(unhex("08 08 01 22 04 22 02 6A 73"));
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].id, 1u);
  EXPECT_EQ(cmds[0].method, Method::kConnect);
  EXPECT_EQ(cmds[0].connect.name, "js");
  EXPECT_EQ(cmds[0].connect.token, "");
}

TEST_F(ProtobufCodecDecodeTest, EmptyCommandIsPong) {
  auto cmds = ok(unhex("00"));
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].id, 0u);
  EXPECT_EQ(cmds[0].method, Method::kNone);
}

TEST_F(ProtobufCodecDecodeTest, SeveralCommandsInOneFrameKeepOrder) {
  std::string frame = framed(vf(1, 1) + lf(4, lf(1, "tok") + lf(4, "js"))) +
                      framed(vf(1, 2) + lf(5, lf(1, "chat:lobby") + vf(11, 1) + vf(14, 1))) +
                      framed("");
  auto cmds = ok(frame);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0].method, Method::kConnect);
  EXPECT_EQ(cmds[0].connect.token, "tok");
  EXPECT_EQ(cmds[1].id, 2u);
  EXPECT_EQ(cmds[1].method, Method::kSubscribe);
  EXPECT_EQ(cmds[1].subscribe.channel, "chat:lobby");
  EXPECT_TRUE(cmds[1].subscribe.join_leave);
  EXPECT_EQ(cmds[1].subscribe.flag, 1);
  EXPECT_EQ(cmds[2].method, Method::kNone);
}

TEST_F(ProtobufCodecDecodeTest, AppendsToExistingOutput) {
  std::vector<Command> out(1);
  ASSERT_TRUE(codec.decode_commands(framed(vf(1, 5) + lf(8, lf(1, "a"))), out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].id, 5u);
  EXPECT_EQ(out[1].method, Method::kPresence);
}

TEST_F(ProtobufCodecDecodeTest, ConnectRequestAllFieldsAndMaps) {
  std::string sub_a = lf(3, lf(1, "news") + lf(2, vf(3, 1) + lf(6, "ep") + vf(7, 42) +
                                                      lf(12, "fossil")));
  std::string sub_b = lf(3, lf(1, "chat") + lf(2, ""));
  std::string h1 = lf(6, lf(1, "X-Ua") + lf(2, "test"));
  std::string h2 = lf(6, lf(1, "Auth") + lf(2, "b"));
  Command c = one(vf(1, 9) + lf(4, lf(1, "tok") + lf(2, "{\"a\":1}") + sub_a + sub_b +
                                       lf(4, "js") + lf(5, "5.0.0") + h1 + h2 + vf(7, 1) +
                                       lf(8, "d1") + lf(9, "p")));
  EXPECT_EQ(c.method, Method::kConnect);
  EXPECT_EQ(c.id, 9u);
  const auto& r = c.connect;
  EXPECT_EQ(r.token, "tok");
  EXPECT_EQ(r.data, "{\"a\":1}");
  EXPECT_EQ(r.name, "js");
  EXPECT_EQ(r.version, "5.0.0");
  ASSERT_EQ(r.subs.size(), 2u);
  EXPECT_EQ(r.subs[0].first, "news");
  EXPECT_EQ(r.subs[0].second.channel, "news");  // the key names the channel
  EXPECT_TRUE(r.subs[0].second.recover);
  EXPECT_EQ(r.subs[0].second.epoch, "ep");
  EXPECT_EQ(r.subs[0].second.offset, 42u);
  EXPECT_EQ(r.subs[0].second.delta, "fossil");
  EXPECT_EQ(r.subs[1].first, "chat");
  EXPECT_FALSE(r.subs[1].second.recover);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"X-Ua", "test"}));
  EXPECT_EQ(r.headers[1], (std::pair<std::string, std::string>{"Auth", "b"}));
}

TEST_F(ProtobufCodecDecodeTest, MapEntryRepeatedKeyReplacesValueAndMissingPartsDefault) {
  Command c = one(vf(1, 1) + lf(4, lf(6, lf(1, "k") + lf(2, "v1")) + lf(6, lf(2, "nokey")) +
                                       lf(6, lf(1, "k") + lf(2, "v2")) + lf(6, lf(1, "novalue"))));
  ASSERT_EQ(c.connect.headers.size(), 3u);
  EXPECT_EQ(c.connect.headers[0], (std::pair<std::string, std::string>{"k", "v2"}));
  EXPECT_EQ(c.connect.headers[1], (std::pair<std::string, std::string>{"", "nokey"}));
  EXPECT_EQ(c.connect.headers[2], (std::pair<std::string, std::string>{"novalue", ""}));
}

TEST_F(ProtobufCodecDecodeTest, SubscribeRequestAllFields) {
  std::string filter = lf(13, lf(1, "and") + lf(6, lf(2, "k") + lf(3, "eq") + lf(4, "v")));
  Command c = one(vf(1, 2) + lf(5, lf(1, "ch") + lf(2, "stok") + vf(3, 1) + lf(6, "xyz") +
                                       vf(7, 1ull << 40) + lf(8, "{}") + vf(9, 1) + vf(10, 1) +
                                       vf(11, 1) + lf(12, "fossil") + filter + vf(14, 3) +
                                       vf(15, 1) + vf(16, 2) + lf(17, "cur") + vf(18, 10) +
                                       vf(19, 1)));
  EXPECT_EQ(c.method, Method::kSubscribe);
  const auto& s = c.subscribe;
  EXPECT_EQ(s.channel, "ch");
  EXPECT_EQ(s.token, "stok");
  EXPECT_TRUE(s.recover);
  EXPECT_EQ(s.epoch, "xyz");
  EXPECT_EQ(s.offset, 1ull << 40);
  EXPECT_EQ(s.data, "{}");
  EXPECT_TRUE(s.positioned);
  EXPECT_TRUE(s.recoverable);
  EXPECT_TRUE(s.join_leave);
  EXPECT_EQ(s.delta, "fossil");
  EXPECT_EQ(s.flag, 3);
  EXPECT_EQ(s.type, 1);
}

TEST_F(ProtobufCodecDecodeTest, ChannelRequests) {
  Command u = one(vf(1, 3) + lf(6, lf(1, "a")));
  EXPECT_EQ(u.method, Method::kUnsubscribe);
  EXPECT_EQ(u.channel.channel, "a");
  Command p = one(vf(1, 4) + lf(8, lf(1, "b")));
  EXPECT_EQ(p.method, Method::kPresence);
  EXPECT_EQ(p.channel.channel, "b");
  Command ps = one(vf(1, 5) + lf(9, lf(1, "c")));
  EXPECT_EQ(ps.method, Method::kPresenceStats);
  EXPECT_EQ(ps.channel.channel, "c");
}

TEST_F(ProtobufCodecDecodeTest, PublishRpcSendRefreshSubRefresh) {
  Command pub = one(vf(1, 6) + lf(7, lf(1, "ch") + lf(2, std::string("\x00\xff", 2)) +
                                         vf(3, 0) + lf(4, "key") + vf(5, 1)));
  EXPECT_EQ(pub.method, Method::kPublish);
  EXPECT_EQ(pub.publish.channel, "ch");
  EXPECT_EQ(pub.publish.data, std::string("\x00\xff", 2));  // bytes are raw

  Command rpc = one(vf(1, 7) + lf(13, lf(1, "[1]") + lf(2, "sum")));
  EXPECT_EQ(rpc.method, Method::kRpc);
  EXPECT_EQ(rpc.rpc.data, "[1]");
  EXPECT_EQ(rpc.rpc.method, "sum");

  Command send = one(lf(12, lf(1, "hi")));
  EXPECT_EQ(send.id, 0u);
  EXPECT_EQ(send.method, Method::kSend);
  EXPECT_EQ(send.send.data, "hi");

  Command ref = one(vf(1, 8) + lf(14, lf(1, "newtok")));
  EXPECT_EQ(ref.method, Method::kRefresh);
  EXPECT_EQ(ref.refresh.token, "newtok");

  Command sr = one(vf(1, 9) + lf(15, lf(1, "ch") + lf(2, "subtok") + vf(3, 0) +
                                         lf(4, lf(1, "sig")) + lf(5, "k")));
  EXPECT_EQ(sr.method, Method::kSubRefresh);
  EXPECT_EQ(sr.sub_refresh.channel, "ch");
  EXPECT_EQ(sr.sub_refresh.token, "subtok");
}

TEST_F(ProtobufCodecDecodeTest, HistoryRequestWithNegativeLimitAndSince) {
  std::string limit_minus_one = unhex("38 FF FF FF FF FF FF FF FF FF 01");  // field 7, 10 bytes
  Command c = one(vf(1, 10) + lf(10, lf(1, "ch") + limit_minus_one +
                                          lf(8, vf(1, 17) + lf(2, "ep")) + vf(9, 1)));
  EXPECT_EQ(c.method, Method::kHistory);
  EXPECT_EQ(c.history.channel, "ch");
  EXPECT_EQ(c.history.limit, -1);
  ASSERT_TRUE(c.history.since.has_value());
  EXPECT_EQ(*c.history.since, (StreamPosition{17, "ep"}));
  EXPECT_TRUE(c.history.reverse);

  Command plain = one(vf(1, 11) + lf(10, lf(1, "ch") + vf(7, 10)));
  EXPECT_EQ(plain.history.limit, 10);
  EXPECT_FALSE(plain.history.since.has_value());

  Command empty_since = one(vf(1, 12) + lf(10, lf(8, "")));
  ASSERT_TRUE(empty_since.history.since.has_value());  // present even when empty
  EXPECT_EQ(*empty_since.history.since, StreamPosition{});
}

TEST_F(ProtobufCodecDecodeTest, EmptySubMessageSelectsMethod) {
  Command c = one(unhex("08 03 3A 00"));  // id 3, publish {}
  EXPECT_EQ(c.method, Method::kPublish);
  EXPECT_EQ(c.publish.channel, "");
  EXPECT_EQ(one(unhex("5A 00")).method, Method::kPing);
}

TEST_F(ProtobufCodecDecodeTest, SeveralRequestsPickCentrifugeOrder) {
  EXPECT_EQ(one(vf(1, 1) + lf(5, "") + lf(4, "")).method, Method::kConnect);
  EXPECT_EQ(one(vf(1, 1) + lf(5, "") + lf(11, "")).method, Method::kPing);
  EXPECT_EQ(one(vf(1, 1) + lf(15, "") + lf(5, "")).method, Method::kSubscribe);
  EXPECT_EQ(one(vf(1, 1) + lf(12, "") + lf(13, "")).method, Method::kRpc);
  EXPECT_EQ(one(vf(1, 1) + lf(15, "") + lf(14, "")).method, Method::kRefresh);
}

TEST_F(ProtobufCodecDecodeTest, UnknownFieldsOfEveryWireTypeAreSkipped) {
  std::string unknown = vf(100, 7) + unhex("A1 06 01 02 03 04 05 06 07 08") +  // 100/fixed64
                        lf(101, "zz") + unhex("AD 06 01 02 03 04");            // 101/fixed32
  // Reserved Command fields 2, 3 too.
  Command c = one(unknown + vf(1, 4) + vf(2, 1) + lf(3, "x") +
                  lf(5, unknown + lf(1, "ch") + unknown) + unknown);
  EXPECT_EQ(c.id, 4u);
  EXPECT_EQ(c.method, Method::kSubscribe);
  EXPECT_EQ(c.subscribe.channel, "ch");
  // Unknown fields alone: still a pong.
  EXPECT_EQ(one(unknown).method, Method::kNone);
}

TEST_F(ProtobufCodecDecodeTest, RepeatedScalarLastWinsAndUint32Truncates) {
  Command c = one(vf(1, 1) + vf(1, (1ull << 32) + 7) + lf(6, lf(1, "a") + lf(1, "b")));
  EXPECT_EQ(c.id, 7u);
  EXPECT_EQ(c.channel.channel, "b");
}

TEST_F(ProtobufCodecDecodeTest, LongValuesUseMultiByteLengths) {
  std::string data(300, 'x');
  std::string big(70000, 'y');
  Command c = one(vf(1, 1) + lf(7, lf(1, "ch") + lf(2, data)));
  EXPECT_EQ(c.publish.data, data);
  Command d = one(vf(1, 2) + lf(7, lf(2, big)));
  EXPECT_EQ(d.publish.data, big);
}

TEST_F(ProtobufCodecDecodeTest, RejectsMalformedFrames) {
  EXPECT_FALSE(decodes(""));                                    // empty frame
  EXPECT_FALSE(decodes(unhex("80")));                           // truncated length prefix
  EXPECT_FALSE(decodes(unhex("05 08 01")));                     // length past the end
  EXPECT_FALSE(decodes(unhex("00 05 08 01")));                  // ... in a later item
  EXPECT_FALSE(decodes(unhex("02 08 80")));                     // truncated varint value
  EXPECT_FALSE(decodes(unhex("01 80")));                        // truncated tag
  EXPECT_FALSE(decodes(framed(unhex("08 80 80 80 80 80 80 80 80 80 80 01"))));  // 11 bytes
  EXPECT_FALSE(decodes(unhex("FF FF FF FF FF FF FF FF FF FF 01")));  // 11-byte length
  EXPECT_FALSE(decodes(framed(unhex("0A 00"))));                // id as length-delimited
  EXPECT_FALSE(decodes(framed(unhex("20 01"))));                // connect as varint
  EXPECT_FALSE(decodes(framed(unhex("0B 0C"))));                // group wire type 3
  EXPECT_FALSE(decodes(framed(unhex("0C"))));                   // group wire type 4
  EXPECT_FALSE(decodes(framed(unhex("0E 00"))));                // wire type 6
  EXPECT_FALSE(decodes(framed(unhex("0F 00"))));                // wire type 7
  EXPECT_FALSE(decodes(framed(unhex("00 01"))));                // field number 0
  EXPECT_FALSE(decodes(framed(unhex("A3 06"))));                // unknown field as a group
  EXPECT_FALSE(decodes(framed(unhex("A1 06 01 02"))));          // truncated fixed64
  EXPECT_FALSE(decodes(framed(unhex("AD 06 01"))));             // truncated fixed32
  EXPECT_FALSE(decodes(framed(unhex("2A 03 08 01 02"))));       // nested: channel as varint
  EXPECT_FALSE(decodes(framed(unhex("2A 02 0A 05"))));          // nested: length past sub-end
  EXPECT_FALSE(decodes(framed(vf(1, 1) + lf(10, vf(8, 1)))));   // since as varint
  EXPECT_FALSE(decodes(framed(vf(1, 1) + lf(5, vf(13, 1)))));   // tf as varint
  EXPECT_FALSE(decodes(framed(vf(1, 1) + lf(4, lf(3, vf(2, 1))))));  // subs value as varint
  EXPECT_FALSE(decodes(framed(vf(1, 1) + lf(4, lf(6, vf(1, 1))))));  // header key as varint
}

TEST_F(ProtobufCodecDecodeTest, AcceptsTenByteVarints) {
  Command c = one(unhex("08 81 80 80 80 80 80 80 80 80 00"));  // id 1, padded to 10 bytes
  EXPECT_EQ(c.id, 1u);
}

TEST_F(ProtobufCodecDecodeTest, BareConnectRequest) {
  ConnectRequest empty;
  EXPECT_TRUE(codec.decode_connect_request("", empty));
  EXPECT_EQ(empty.token, "");
  EXPECT_TRUE(empty.subs.empty());

  ConnectRequest r;
  ASSERT_TRUE(codec.decode_connect_request(
      lf(1, "tok") + lf(3, lf(1, "news") + lf(2, vf(3, 1) + vf(7, 3))) + lf(4, "go"), r));
  EXPECT_EQ(r.token, "tok");
  EXPECT_EQ(r.name, "go");
  ASSERT_EQ(r.subs.size(), 1u);
  EXPECT_EQ(r.subs[0].second.channel, "news");
  EXPECT_EQ(r.subs[0].second.offset, 3u);

  ConnectRequest bad;
  EXPECT_FALSE(codec.decode_connect_request(unhex("0A 05 61"), bad));
  EXPECT_FALSE(codec.decode_connect_request(unhex("08 01"), bad));  // token as varint
}

// ---------------------------------------------------------------- encoding

class ProtobufCodecEncodeTest : public ::testing::Test {
 protected:
  const Codec& codec = protobuf_codec();
  std::string out;

  static std::shared_ptr<const Publication> pub(std::string data, uint64_t offset) {
    Publication p;
    p.data = std::move(data);
    p.offset = offset;
    return std::make_shared<const Publication>(std::move(p));
  }
};

TEST_F(ProtobufCodecEncodeTest, PingIsEmptyMessage) {
  codec.encode_ping(out);
  EXPECT_EQ(tohex(framed(out)), "00");
}

TEST_F(ProtobufCodecEncodeTest, ConnectReplyFromWorkedExample) {
  ConnectResult r;
  r.client = "abc";
  r.ping = 25;
  r.pong = true;
  codec.encode_connect(out, 1, r);
  EXPECT_EQ(tohex(framed(out)), "0D 08 01 2A 09 0A 03 61 62 63 38 19 40 01");
}

TEST_F(ProtobufCodecEncodeTest, EmptySubscribeResultIsStillPresent) {
  codec.encode_subscribe(out, 2, SubscribeResult{});
  EXPECT_EQ(tohex(framed(out)), "04 08 02 32 00");
}

TEST_F(ProtobufCodecEncodeTest, PubPushFromWorkedExample) {
  Publication p;
  p.data = "{}";
  p.offset = 5;
  p.epoch = "ignored";  // only offset 1 carries the epoch
  codec.encode_pub(out, "news", p, false);
  EXPECT_EQ(tohex(framed(out)), "10 22 0E 12 04 6E 65 77 73 22 06 22 02 7B 7D 30 05");
}

TEST_F(ProtobufCodecEncodeTest, AppendsExactlyOneUnframedMessage) {
  out = "prefix";
  codec.encode_subscribe(out, 2, SubscribeResult{});
  codec.encode_ping(out);
  codec.encode_empty(out, 3, Method::kPublish);
  EXPECT_EQ(out, "prefix" + unhex("08 02 32 00") + unhex("08 03 42 00"));
}

TEST_F(ProtobufCodecEncodeTest, EmptyResultsUseTheMethodField) {
  const std::pair<Method, uint32_t> cases[] = {
      {Method::kUnsubscribe, 7}, {Method::kPublish, 8},  {Method::kSubscribe, 6},
      {Method::kPresence, 9},    {Method::kHistory, 11}, {Method::kRpc, 13},
      {Method::kRefresh, 14},    {Method::kSubRefresh, 15},
  };
  for (auto [m, field] : cases) {
    out.clear();
    codec.encode_empty(out, 300, m);
    EXPECT_EQ(out, vf(1, 300) + lf(field, "")) << static_cast<int>(m);
  }
}

TEST_F(ProtobufCodecEncodeTest, ErrorReply) {
  codec.encode_error(out, 4, Error{103, "permission denied", false});
  EXPECT_EQ(out, vf(1, 4) + lf(2, vf(1, 103) + lf(2, "permission denied")));
  out.clear();
  codec.encode_error(out, 5, Error{100, "internal server error", true});
  EXPECT_EQ(out, vf(1, 5) + lf(2, vf(1, 100) + lf(2, "internal server error") + vf(3, 1)));
}

TEST_F(ProtobufCodecEncodeTest, ConnectReplyAllFields) {
  SubscribeResult sub;
  sub.recoverable = true;
  sub.epoch = "ep";
  sub.offset = 3;
  ConnectResult r;
  r.client = "c1";
  r.version = "0.1";
  r.expires = true;
  r.ttl = 60;
  r.data = "{\"x\":1}";
  r.subs = {{"news", sub}, {"empty", SubscribeResult{}}};
  r.ping = 25;
  r.pong = true;
  r.session = "s";
  r.node = "n";
  r.time = 1700000000000;
  codec.encode_connect(out, 1, r);
  std::string subs = lf(6, lf(1, "news") + lf(2, vf(3, 1) + lf(6, "ep") + vf(9, 3))) +
                     lf(6, lf(1, "empty") + lf(2, ""));
  EXPECT_EQ(out, vf(1, 1) + lf(5, lf(1, "c1") + lf(2, "0.1") + vf(3, 1) + vf(4, 60) +
                                       lf(5, "{\"x\":1}") + subs + vf(7, 25) + vf(8, 1) +
                                       lf(9, "s") + lf(10, "n") + vf(11, 1700000000000)));
}

TEST_F(ProtobufCodecEncodeTest, NegativeInt64TakesTenBytes) {
  ConnectResult r;
  r.time = -1;
  codec.encode_connect(out, 1, r);
  EXPECT_EQ(tohex(out), "08 01 2A 0B 58 FF FF FF FF FF FF FF FF FF 01");
}

TEST_F(ProtobufCodecEncodeTest, SubscribeResultAllFieldsWithPublications) {
  Publication full;
  full.data = "{\"a\":1}";
  full.offset = 1;
  full.epoch = "ep";  // not written inside results
  full.info = info("u", "c");
  full.tags = {{"k1", "v1"}, {"k2", ""}};
  full.delta = true;
  full.time = 123;  // never sent
  SubscribeResult r;
  r.expires = true;
  r.ttl = 30;
  r.recoverable = true;
  r.epoch = "ep";
  r.publications = {std::make_shared<const Publication>(full), pub("", 0)};
  r.recovered = true;
  r.offset = 9;
  r.positioned = true;
  r.data = "{}";
  r.was_recovering = true;
  r.delta = true;
  codec.encode_subscribe(out, 2, r);
  std::string p1 = lf(4, "{\"a\":1}") + lf(5, lf(1, "u") + lf(2, "c")) + vf(6, 1) +
                   lf(7, lf(1, "k1") + lf(2, "v1")) + lf(7, lf(1, "k2") + lf(2, "")) + vf(8, 1);
  EXPECT_EQ(out, vf(1, 2) + lf(6, vf(1, 1) + vf(2, 30) + vf(3, 1) + lf(6, "ep") + lf(7, p1) +
                                       lf(7, "") + vf(8, 1) + vf(9, 9) + vf(10, 1) + lf(11, "{}") +
                                       vf(12, 1) + vf(13, 1)));
}

TEST_F(ProtobufCodecEncodeTest, PresenceResultIsAMapOfClientInfo) {
  PresenceResult r;
  ClientInfo a = info("42", "c1");
  a.conn_info = "{\"n\":1}";
  a.chan_info = "ci";
  r.presence = {{"c1", a}, {"c2", info("", "c2")}};
  codec.encode_presence(out, 3, r);
  std::string e1 = lf(1, lf(1, "c1") + lf(2, lf(1, "42") + lf(2, "c1") + lf(3, "{\"n\":1}") +
                                          lf(4, "ci")));
  std::string e2 = lf(1, lf(1, "c2") + lf(2, lf(2, "c2")));
  EXPECT_EQ(out, vf(1, 3) + lf(9, e1 + e2));
  out.clear();
  codec.encode_presence(out, 4, PresenceResult{});
  EXPECT_EQ(tohex(out), "08 04 4A 00");
}

TEST_F(ProtobufCodecEncodeTest, PresenceStatsHistoryRpcRefreshSubRefresh) {
  codec.encode_presence_stats(out, 5, PresenceStatsResult{3, 2});
  EXPECT_EQ(out, vf(1, 5) + lf(10, vf(1, 3) + vf(2, 2)));

  out.clear();
  codec.encode_presence_stats(out, 5, PresenceStatsResult{});
  EXPECT_EQ(tohex(out), "08 05 52 00");

  out.clear();
  HistoryResult h;
  h.publications = {pub("1", 1), pub("2", 2)};
  h.epoch = "ep";
  h.offset = 2;
  codec.encode_history(out, 6, h);
  EXPECT_EQ(out, vf(1, 6) + lf(11, lf(1, lf(4, "1") + vf(6, 1)) + lf(1, lf(4, "2") + vf(6, 2)) +
                                       lf(2, "ep") + vf(3, 2)));

  out.clear();
  codec.encode_rpc(out, 7, RpcResult{"{\"r\":1}"});
  EXPECT_EQ(out, vf(1, 7) + lf(13, lf(1, "{\"r\":1}")));

  out.clear();
  codec.encode_refresh(out, 8, RefreshResult{"c", "v", true, 60});
  EXPECT_EQ(out, vf(1, 8) + lf(14, lf(1, "c") + lf(2, "v") + vf(3, 1) + vf(4, 60)));

  out.clear();
  codec.encode_sub_refresh(out, 9, SubRefreshResult{true, 90});
  EXPECT_EQ(out, vf(1, 9) + lf(15, vf(1, 1) + vf(2, 90)));
}

TEST_F(ProtobufCodecEncodeTest, PubPushEpochOnOffsetOneTagsInfoDelta) {
  Publication p;
  p.data = "d";
  p.offset = 1;
  p.epoch = "ep";
  p.info = info("u", "c");
  p.tags = {{"a", "b"}};
  p.delta = true;
  codec.encode_pub(out, "ch", p, false);
  std::string body = lf(4, "d") + lf(5, lf(1, "u") + lf(2, "c")) + vf(6, 1) +
                     lf(7, lf(1, "a") + lf(2, "b")) + vf(8, 1) + lf(14, "ep");
  EXPECT_EQ(out, lf(4, lf(2, "ch") + lf(4, body)));
  out.clear();
  codec.encode_pub(out, "ch", p, true);  // bare Push
  EXPECT_EQ(out, lf(2, "ch") + lf(4, body));
}

TEST_F(ProtobufCodecEncodeTest, EmptyPublicationIsStillPresent) {
  codec.encode_pub(out, "ch", Publication{}, false);
  EXPECT_EQ(tohex(out), "22 06 12 02 63 68 22 00");
}

TEST_F(ProtobufCodecEncodeTest, JoinLeave) {
  codec.encode_join(out, "ch", info("u", "c"), false);
  EXPECT_EQ(out, lf(4, lf(2, "ch") + lf(5, lf(1, lf(1, "u") + lf(2, "c")))));
  out.clear();
  codec.encode_leave(out, "ch", ClientInfo{}, true);
  EXPECT_EQ(out, lf(2, "ch") + lf(6, lf(1, "")));  // info present even when empty
}

TEST_F(ProtobufCodecEncodeTest, UnsubscribeAndSubscribePushes) {
  codec.encode_unsubscribe(out, "ch", Unsubscribe{2000, "server unsubscribe"}, false);
  EXPECT_EQ(out, lf(4, lf(2, "ch") + lf(7, vf(2, 2000) + lf(3, "server unsubscribe"))));
  out.clear();
  codec.encode_subscribe_push(out, "user:42", SubscribePush{true, "aBcD", 12, true, "{}"}, true);
  EXPECT_EQ(out, lf(2, "user:42") + lf(9, vf(1, 1) + lf(4, "aBcD") + vf(5, 12) + vf(6, 1) +
                                              lf(7, "{}")));
}

TEST_F(ProtobufCodecEncodeTest, MessageDisconnectRefreshPushesHaveNoChannel) {
  codec.encode_message(out, "{\"t\":1}", false);
  EXPECT_EQ(out, lf(4, lf(8, lf(1, "{\"t\":1}"))));
  out.clear();
  codec.encode_message(out, "", true);
  EXPECT_EQ(tohex(out), "42 00");
  out.clear();
  codec.encode_disconnect(out, Disconnect{3503, "force disconnect"}, false);
  EXPECT_EQ(out, lf(4, lf(11, vf(1, 3503) + lf(2, "force disconnect"))));
  out.clear();
  codec.encode_refresh_push(out, RefreshPush{true, 30}, true);
  EXPECT_EQ(out, lf(12, vf(1, 1) + vf(2, 30)));
}

TEST_F(ProtobufCodecEncodeTest, ConnectPushUsesPushFieldNumbers) {
  ConnectResult r;
  r.client = "c1";
  r.version = "v";
  r.data = "{}";
  r.subs = {{"news", SubscribeResult{}}};
  r.expires = true;
  r.ttl = 10;
  r.ping = 25;
  r.pong = true;
  r.session = "s";
  r.node = "n";
  r.time = 5;
  codec.encode_connect_push(out, r);
  EXPECT_EQ(out, lf(10, lf(1, "c1") + lf(2, "v") + lf(3, "{}") + lf(4, lf(1, "news") + lf(2, "")) +
                            vf(5, 1) + vf(6, 10) + vf(7, 25) + vf(8, 1) + lf(9, "s") +
                            lf(10, "n") + vf(11, 5)));
}

TEST_F(ProtobufCodecEncodeTest, LargePayloadsGetMultiByteLengths) {
  std::string data(20000, 'x');  // 3-byte length inside, 3-byte lengths outside
  codec.encode_pub(out, "ch", *pub(data, 7), false);
  EXPECT_EQ(out, lf(4, lf(2, "ch") + lf(4, lf(4, data) + vf(6, 7))));
  // ...and it decodes back as a publish data field would.
  std::vector<Command> cmds;
  ASSERT_TRUE(codec.decode_commands(framed(vf(1, 1) + lf(7, lf(2, data))), cmds));
  EXPECT_EQ(cmds[0].publish.data, data);
}

// ---------------------------------------------------------------- wire helpers

TEST(ProtobufWireTest, VarintSizesAndZigZag) {
  EXPECT_EQ(pb::varint_size(0), 1u);
  EXPECT_EQ(pb::varint_size(127), 1u);
  EXPECT_EQ(pb::varint_size(128), 2u);
  EXPECT_EQ(pb::varint_size(UINT64_MAX), 10u);
  EXPECT_EQ(pb::zigzag_encode(0), 0u);
  EXPECT_EQ(pb::zigzag_encode(-1), 1u);
  EXPECT_EQ(pb::zigzag_encode(1), 2u);
  EXPECT_EQ(pb::zigzag_encode(INT64_MIN), UINT64_MAX);
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{63}, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(pb::zigzag_decode(pb::zigzag_encode(v)), v);
  }
}

TEST(ProtobufWireTest, ReaderVarintRoundTrip) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{300}, uint64_t{1} << 35, UINT64_MAX}) {
    std::string b = varint(v);
    pb::Reader r(b);
    uint64_t got = 0;
    ASSERT_TRUE(r.varint(got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.empty());
  }
}

}  // namespace
}  // namespace gyre::protocol
