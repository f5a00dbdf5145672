#include "engine/redis/redis_codec.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "engine/redis/redis_connection.h"
#include "engine/redis/redis_scripts.h"

namespace gyre::engine::redis {
namespace {

using namespace std::string_literals;

TEST(RedisKeysTest, NamesAreCentrifugos) {
  RedisKeys k("centrifugo");
  EXPECT_EQ(k.client_channel("chat:1"), "centrifugo.client.chat:1");
  EXPECT_EQ(k.stream("chat:1"), "centrifugo.stream.chat:1");
  EXPECT_EQ(k.stream_meta("chat:1"), "centrifugo.stream.meta.chat:1");
  EXPECT_EQ(k.result("chat:1", "key"), "centrifugo.result.chat:1.key");
  EXPECT_EQ(k.presence_data("chat:1"), "centrifugo.presence.data.chat:1");
  EXPECT_EQ(k.presence_expire("chat:1"), "centrifugo.presence.expire.chat:1");
  EXPECT_EQ(k.control(), "centrifugo.control");
  EXPECT_EQ(k.channel_of("centrifugo.client.a.b"), "a.b");
  EXPECT_FALSE(k.channel_of("centrifugo.control"));
  EXPECT_FALSE(k.channel_of("other.client.a"));
}

TEST(RedisCodecTest, PublicationEncodesAsCentrifugeMarshalsIt) {
  protocol::Publication p;
  p.data = "{}";
  p.info = protocol::ClientInfo{"u", "c", "", ""};
  p.tags = {{"a", "b"}};
  p.time = 5;
  p.offset = 0;  // not stored: the stream id carries it
  const std::string expected =
      "\x22\x02{}"                          // data = 4
      "\x2a\x06\x0a\x01u\x12\x01\x63"       // info = 5 {user = 1, client = 2}
      "\x3a\x06\x0a\x01\x61\x12\x01\x62"    // tags = 7, entry {key = 1, value = 2}
      "\x48\x05"s;                          // time = 9
  EXPECT_EQ(encode_publication(p), expected);

  protocol::Publication back;
  ASSERT_TRUE(decode_publication(expected, back));
  EXPECT_EQ(back.data, "{}");
  ASSERT_TRUE(back.info);
  EXPECT_EQ(back.info->user, "u");
  EXPECT_EQ(back.info->client, "c");
  EXPECT_EQ(back.tags, (std::vector<std::pair<std::string, std::string>>{{"a", "b"}}));
  EXPECT_EQ(back.time, 5);
  EXPECT_FALSE(back.delta);

  protocol::Publication bad;
  EXPECT_FALSE(decode_publication("\x22\x05{}"s, bad));  // truncated
}

TEST(RedisCodecTest, ClientInfoRoundTripsWithRawBytes) {
  protocol::ClientInfo i{"42", "client-id", "{\"a\":1}", "\x00\x01"s};
  std::string bytes = encode_client_info(i);
  EXPECT_EQ(bytes.substr(0, 4), "\x0a\x02" "42");
  protocol::ClientInfo back;
  ASSERT_TRUE(decode_client_info(bytes, back));
  EXPECT_EQ(back.user, "42");
  EXPECT_EQ(back.client, "client-id");
  EXPECT_EQ(back.conn_info, "{\"a\":1}");
  EXPECT_EQ(back.chan_info, "\x00\x01"s);
  EXPECT_EQ(join_message(i), "__j__" + bytes);
  EXPECT_EQ(leave_message(i), "__l__" + bytes);
}

TEST(RedisCodecTest, PubSubMessagesSplitAsCentrifugeDoes) {
  auto m = parse_pubsub_message("__p1:17:1700000000__PAYLOAD");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PubSubMessage::Type::kPublication);
  EXPECT_EQ(m->offset, 17u);
  EXPECT_EQ(m->epoch, "1700000000");
  EXPECT_EQ(m->payload, "PAYLOAD");
  EXPECT_FALSE(m->delta);

  m = parse_pubsub_message("__d1:3:ep:4:PREV:7:PAYLOAD");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->delta);
  EXPECT_EQ(m->offset, 3u);
  EXPECT_EQ(m->epoch, "ep");
  EXPECT_EQ(m->prev_payload, "PREV");
  EXPECT_EQ(m->payload, "PAYLOAD");
  // Payloads may hold ':' and "__": lengths, not separators, delimit them.
  m = parse_pubsub_message("__d1:1:ep:0::5:a:__b");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prev_payload, "");
  EXPECT_EQ(m->payload, "a:__b");

  m = parse_pubsub_message("__j__INFO");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PubSubMessage::Type::kJoin);
  EXPECT_EQ(m->payload, "INFO");
  m = parse_pubsub_message("__l__INFO");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PubSubMessage::Type::kLeave);

  const std::string bare = "\x22\x02{}"s;  // bare Publication (no history)
  m = parse_pubsub_message(bare);  // the views point into `bare`
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PubSubMessage::Type::kPublication);
  EXPECT_EQ(m->offset, 0u);
  EXPECT_EQ(m->payload, bare);

  EXPECT_FALSE(parse_pubsub_message("__p1:x:ep__P"));
  EXPECT_FALSE(parse_pubsub_message("__p1:1:ep"));
  EXPECT_FALSE(parse_pubsub_message("__d1:1:ep:9:PREV:7:PAYLOAD"));
  EXPECT_FALSE(parse_pubsub_message("__d1:1:ep:4:PREV:9:PAYLOAD"));
  EXPECT_FALSE(parse_pubsub_message("__x__"));
}

TEST(RedisRespTest, CommandsAreFormattedAsRespArrays) {
  EXPECT_EQ(format_command({"SET", "k", "a\r\nb"}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
  EXPECT_EQ(format_command({"PUBLISH", "ch", ""}), "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
}

TEST(RedisRespTest, RepliesConvertFromHiredis) {
  redisReader* r = redisReaderCreate();
  std::string wire = "*4\r\n:5\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n+OK\r\n-ERR x\r\n"s;
  ASSERT_EQ(redisReaderFeed(r, wire.data(), wire.size()), REDIS_OK);
  void* raw = nullptr;
  ASSERT_EQ(redisReaderGetReply(r, &raw), REDIS_OK);
  ASSERT_NE(raw, nullptr);
  Reply reply = Reply::from_hiredis(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  redisReaderFree(r);
  ASSERT_EQ(reply.type, Reply::Type::kArray);
  ASSERT_EQ(reply.elements.size(), 4u);
  EXPECT_EQ(reply.elements[0].integer, 5);
  EXPECT_EQ(reply.elements[1].str, "a\0b"s);
  EXPECT_TRUE(reply.elements[2].is_nil());
  EXPECT_EQ(reply.elements[3].elements[0].type, Reply::Type::kStatus);
  EXPECT_TRUE(reply.elements[3].elements[1].is_error());
  EXPECT_EQ(reply.elements[3].elements[1].str, "ERR x");
}

TEST(RedisScriptsTest, PublishWithHistoryArgumentsFollowCentrifuge) {
  RedisKeys k("p");
  PublishOptions o;
  o.history.size = 10;
  o.history.ttl = std::chrono::seconds(300);
  o.history.meta_ttl = std::chrono::hours(720);
  o.idempotency_key = "ik";
  ScriptCall c = publish_history_call(k, "ch", "PUB", o, 1700000000);
  EXPECT_EQ(c.keys, (std::vector<std::string>{"p.stream.ch", "p.stream.meta.ch", "p.result.ch.ik"}));
  EXPECT_EQ(c.args, (std::vector<std::string>{"PUB", "10", "300", "p.client.ch", "2592000",
                                              "1700000000", "publish", "300", ""}));
  o.idempotency_key.clear();
  o.delta = true;
  c = publish_history_call(k, "ch", "PUB", o, 1);
  EXPECT_EQ(c.args[7], "");
  EXPECT_EQ(c.args[8], "1");

  auto argv = c.evalsha_argv();
  ASSERT_EQ(argv.size(), 3u + 3u + 9u);
  EXPECT_EQ(argv[0], "EVALSHA");
  EXPECT_EQ(argv[1], publish_history_script().sha1);
  EXPECT_EQ(argv[1].size(), 40u);
  EXPECT_EQ(argv[2], "3");
  EXPECT_EQ(argv[3], "p.stream.ch");
  auto eval = c.eval_argv();
  EXPECT_EQ(eval[0], "EVAL");
  EXPECT_EQ(eval[1], publish_history_script().source);
  EXPECT_EQ(std::vector<std::string>(eval.begin() + 2, eval.end()),
            std::vector<std::string>(argv.begin() + 2, argv.end()));
}

TEST(RedisScriptsTest, HistoryArgumentsFollowCentrifugesOffsets) {
  RedisKeys k("p");
  HistoryFilter f;
  f.limit = -1;
  ScriptCall c = history_call(k, "ch", f, std::chrono::seconds(60), 7);
  EXPECT_EQ(c.keys, (std::vector<std::string>{"p.stream.ch", "p.stream.meta.ch"}));
  EXPECT_EQ(c.args, (std::vector<std::string>{"1", "0", "0", "0", "60", "7"}));
  // Forward from since: the next offset.
  f.since = StreamPosition{5, "e"};
  f.limit = 3;
  EXPECT_EQ(history_call(k, "ch", f, {}, 7).args,
            (std::vector<std::string>{"1", "6", "3", "0", "0", "7"}));
  // Reverse from since: the previous offset; nothing before offset 1.
  f.reverse = true;
  EXPECT_EQ(history_call(k, "ch", f, {}, 7).args,
            (std::vector<std::string>{"1", "4", "3", "1", "0", "7"}));
  f.since = StreamPosition{1, "e"};
  EXPECT_EQ(history_call(k, "ch", f, {}, 7).args[0], "0");
  // limit 0: the stream top only.
  f = HistoryFilter{};
  EXPECT_EQ(history_call(k, "ch", f, {}, 7).args[0], "0");
}

TEST(RedisScriptsTest, PresenceArguments) {
  RedisKeys k("p");
  ScriptCall add = presence_add_call(k, "ch", "cid", protocol::ClientInfo{"u", "cid", "", ""},
                                     std::chrono::seconds(60), 1000);
  const std::vector<std::string> keys{"p.presence.expire.ch", "p.presence.data.ch",
                                      "p.presence.user.expire.ch", "p.presence.user.clients.ch"};
  EXPECT_EQ(add.keys, keys);
  EXPECT_EQ(add.args, (std::vector<std::string>{"60", "1060", "cid",
                                                encode_client_info({"u", "cid", "", ""}), "u",
                                                "0"}));
  EXPECT_EQ(presence_add_call(k, "ch", "cid", protocol::ClientInfo{"u", "cid", "", ""},
                              std::chrono::seconds(60), 1000, true)
                .args.back(),
            "1");
  EXPECT_EQ(presence_remove_call(k, "ch", "cid").args,
            (std::vector<std::string>{"cid", "", "0"}));
  EXPECT_EQ(presence_remove_call(k, "ch", "cid", "u", true).keys, keys);
  EXPECT_EQ(presence_remove_call(k, "ch", "cid", "u", true).args,
            (std::vector<std::string>{"cid", "u", "1"}));
  EXPECT_EQ(presence_stats_call(k, "ch", 1000).keys, keys);
  EXPECT_EQ(presence_stats_call(k, "ch", 1000).args, std::vector<std::string>{"1000"});
  EXPECT_EQ(presence_get_call(k, "ch", 1000).args, std::vector<std::string>{"1000"});
}

TEST(RedisScripts, ListHistoryKeysArgsAndFilter) {
  RedisKeys k("p");
  PublishOptions opts;
  opts.history.size = 3;
  opts.history.ttl = std::chrono::seconds(300);
  opts.history.meta_ttl = std::chrono::seconds(0);
  ScriptCall add = publish_history_list_call(k, "ch", "PUB", opts, 1000);
  EXPECT_EQ(add.keys, (std::vector<std::string>{"p.list.ch", "p.list.meta.ch", "p.result.ch."}));
  EXPECT_EQ(add.args, (std::vector<std::string>{"PUB", "2", "300", "p.client.ch", "0", "1000",
                                                "publish", "", ""}));
  HistoryFilter f;
  f.limit = 0;
  EXPECT_EQ(history_list_call(k, "ch", f, std::chrono::seconds(60), 1000).args,
            (std::vector<std::string>{"0", "0", "60", "1000"}));
  f.limit = -1;
  EXPECT_EQ(history_list_call(k, "ch", f, std::chrono::seconds(60), 1000).args,
            (std::vector<std::string>{"1", "-1", "60", "1000"}));
  RedisKeys ck("p", true);
  EXPECT_EQ(ck.list("ch"), "p.list.{ch}");
  EXPECT_EQ(ck.list_meta("ch"), "p.list.meta.{ch}");

  auto framed = parse_p1("__p1:12:1700000000__\x0a\x01x");
  ASSERT_TRUE(framed);
  EXPECT_EQ(framed->first, 12u);
  EXPECT_EQ(framed->second, "\x0a\x01x");
  EXPECT_FALSE(parse_p1("__p1:x:1__"));
  EXPECT_FALSE(parse_p1("__d1:1:1:0::0:"));
  EXPECT_FALSE(parse_p1("__p1:1:1"));

  std::vector<std::shared_ptr<const Publication>> pubs;
  for (uint64_t o = 3; o <= 6; ++o) {
    auto p = std::make_shared<Publication>();
    p->offset = o;
    pubs.push_back(std::move(p));
  }
  auto offsets = [](const std::vector<std::shared_ptr<const Publication>>& v) {
    std::vector<uint64_t> out;
    for (const auto& p : v) out.push_back(p->offset);
    return out;
  };
  StreamPosition top{6, "e"};
  HistoryFilter all{std::nullopt, -1, false};
  EXPECT_EQ(offsets(filter_list_history(pubs, all, top)), (std::vector<uint64_t>{3, 4, 5, 6}));
  HistoryFilter two{std::nullopt, 2, true};  // reverse ignored, as centrifuge's lists
  EXPECT_EQ(offsets(filter_list_history(pubs, two, top)), (std::vector<uint64_t>{3, 4}));
  HistoryFilter since4{StreamPosition{4, "e"}, 10, false};
  EXPECT_EQ(offsets(filter_list_history(pubs, since4, top)), (std::vector<uint64_t>{5, 6}));
  HistoryFilter since2{StreamPosition{2, "e"}, 10, false};  // next offset 3 is the first kept
  EXPECT_EQ(offsets(filter_list_history(pubs, since2, top)), (std::vector<uint64_t>{3, 4, 5, 6}));
  HistoryFilter since0{StreamPosition{0, "e"}, 1, false};  // trimmed away: from the first
  EXPECT_EQ(offsets(filter_list_history(pubs, since0, top)), (std::vector<uint64_t>{3}));
  HistoryFilter at_top{StreamPosition{6, "e"}, 10, false};
  EXPECT_TRUE(filter_list_history(pubs, at_top, top).empty());
  HistoryFilter beyond{StreamPosition{9, "e"}, 10, false};
  EXPECT_TRUE(filter_list_history(pubs, beyond, top).empty());
}

}  // namespace
}  // namespace gyre::engine::redis
