#include "api/requests.h"

#include <gtest/gtest.h>

namespace gyre::api {
namespace {

template <typename T>
std::optional<T> decode(Method m, std::string_view json) {
  auto r = decode_request(m, json);
  if (!r) {
    return std::nullopt;
  }
  return std::get<T>(std::move(*r));
}

TEST(RequestsTest, PublishKeepsRawDataBytes) {
  auto r = decode<PublishRequest>(Method::kPublish,
                                  R"({"channel":"a","data":{"x": [1, 2.50]},"extra":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, "a");
  EXPECT_EQ(r->data, R"({"x": [1, 2.50]})");
}

TEST(RequestsTest, RawNullIsCapturedAndScalarNullKeepsDefault) {
  auto r = decode<PublishRequest>(Method::kPublish,
                                  R"({"channel":null,"data":null,"skip_history":null})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, "");
  EXPECT_EQ(r->data, "null");
  EXPECT_FALSE(r->skip_history);
  auto s = decode<PublishRequest>(Method::kPublish, R"({"data":"str" ,"channel":"c"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data, R"("str")");
  auto n = decode<PublishRequest>(Method::kPublish, R"({"data":12 })");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->data, "12");
}

TEST(RequestsTest, ScalarTypesAreStrict) {
  EXPECT_FALSE(decode_request(Method::kPublish, R"({"channel":1})"));
  EXPECT_FALSE(decode_request(Method::kPublish, R"({"skip_history":"true"})"));
  EXPECT_FALSE(decode_request(Method::kPublish, R"({"tags":{"a":1}})"));
  EXPECT_FALSE(decode_request(Method::kHistory, R"({"limit":1.5})"));
  EXPECT_FALSE(decode_request(Method::kHistory, R"({"limit":"1"})"));
  EXPECT_FALSE(decode_request(Method::kHistory, R"({"limit":3000000000})"));
  EXPECT_FALSE(decode_request(Method::kHistory, R"({"since":{"offset":-1}})"));
  EXPECT_FALSE(decode_request(Method::kBroadcast, R"({"channels":"a"})"));
  EXPECT_FALSE(decode_request(Method::kBroadcast, R"({"channels":[1]})"));
  EXPECT_FALSE(decode_request(Method::kDisconnect, R"({"disconnect":{"code":-1}})"));
}

TEST(RequestsTest, DocumentMustBeOneObjectOrNull) {
  EXPECT_FALSE(decode_request(Method::kInfo, ""));
  EXPECT_FALSE(decode_request(Method::kInfo, "   "));
  EXPECT_FALSE(decode_request(Method::kInfo, "[]"));
  EXPECT_FALSE(decode_request(Method::kInfo, "1"));
  EXPECT_FALSE(decode_request(Method::kInfo, "{}{}"));
  EXPECT_FALSE(decode_request(Method::kInfo, "{} x"));
  EXPECT_FALSE(decode_request(Method::kInfo, "{"));
  EXPECT_TRUE(decode_request(Method::kInfo, "null"));
  EXPECT_TRUE(decode_request(Method::kInfo, " {\"anything\":[1,{}]} "));
}

TEST(RequestsTest, KeysMatchCaseInsensitivelyAndLastDuplicateWins) {
  auto r = decode<PublishRequest>(Method::kPublish, R"({"Channel":"a","CHANNEL":"b"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, "b");
}

TEST(RequestsTest, SubscribeNestedObjects) {
  auto r = decode<SubscribeRequest>(
      Method::kSubscribe,
      R"({"user":"42","channel":"chat:1","expire_at":5,"info":{"a":1},"recover_since":
         {"offset":3,"epoch":"ab"},"override":{"presence":{"value":false},"join_leave":{},
         "force_recovery":null}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expire_at, 5);
  EXPECT_EQ(r->info, R"({"a":1})");
  ASSERT_TRUE(r->recover_since);
  EXPECT_EQ(r->recover_since->offset, 3u);
  EXPECT_EQ(r->recover_since->epoch, "ab");
  ASSERT_TRUE(r->override_);
  EXPECT_EQ(r->override_->presence, false);
  EXPECT_EQ(r->override_->join_leave, false);  // {} is present with value false
  EXPECT_FALSE(r->override_->force_recovery.has_value());
  EXPECT_FALSE(r->override_->force_positioning.has_value());
}

TEST(RequestsTest, DisconnectAndTags) {
  auto d = decode<DisconnectRequest>(
      Method::kDisconnect,
      R"({"user":"u","whitelist":["a",null],"disconnect":{"code":4000,"reason":"bye"}})");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->whitelist.size(), 2u);
  EXPECT_EQ(d->whitelist[1], "");
  ASSERT_TRUE(d->disconnect);
  EXPECT_EQ(d->disconnect->code, 4000u);
  auto p = decode<PublishRequest>(Method::kPublish, R"({"tags":{"b":"2","a":"1"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tags.size(), 2u);
  EXPECT_EQ(p->tags.begin()->first, "a");
}

TEST(RequestsTest, BatchPicksFirstKeyInPrecedenceOrder) {
  auto b = decode_batch(
      R"({"parallel":true,"commands":[{"presence":{"channel":"a"},"history":{"channel":"b"}},
          {"connections":{}},null,{"method":"publish","params":{}}]})");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->parallel);
  ASSERT_EQ(b->commands.size(), 4u);
  EXPECT_EQ(b->commands[0].method, Method::kHistory);
  EXPECT_EQ(std::get<HistoryRequest>(b->commands[0].request).channel, "b");
  EXPECT_FALSE(b->commands[1].method);
  EXPECT_FALSE(b->commands[2].method);
  EXPECT_FALSE(b->commands[3].method);
}

TEST(RequestsTest, BatchFailsWhenAnyValueIsUndecodable) {
  EXPECT_FALSE(decode_batch(R"({"commands":[{"presence":{"channel":1}}]})"));
  EXPECT_FALSE(decode_batch(R"({"commands":[{"publish":{},"presence":[]}]})"));
  EXPECT_FALSE(decode_batch(R"({"commands":[1]})"));
  EXPECT_FALSE(decode_batch(R"({"commands":{}})"));
  EXPECT_FALSE(decode_batch(""));
  auto empty = decode_batch(R"({"commands":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->commands.empty());
}

TEST(RequestsTest, LegacyMethodNameOrNumber) {
  auto a = decode_legacy_command(R"({"id":2,"method":"presence_Stats","params":{"x":1}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 2u);
  EXPECT_EQ(a->method, 5);
  EXPECT_EQ(a->params, R"({"x":1})");
  auto b = decode_legacy_command(R"({"method":4})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->method, 4);
  EXPECT_TRUE(b->params.empty());
  auto c = decode_legacy_command(R"({})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->method, 0);  // absent: publish
  EXPECT_FALSE(decode_legacy_command(R"({"method":"nope"})"));
  EXPECT_FALSE(decode_legacy_command(R"({"method":"0"})"));
  EXPECT_FALSE(decode_legacy_command(R"({"method":true})"));
  EXPECT_FALSE(decode_legacy_command(R"({"id":-1})"));
  EXPECT_EQ(method_from_enum(12), Method::kRefresh);
  EXPECT_EQ(method_from_enum(11), Method::kSubscribe);
  EXPECT_FALSE(method_from_enum(13));
  EXPECT_FALSE(method_from_enum(14));
  EXPECT_FALSE(method_from_enum(-1));
}

}  // namespace
}  // namespace gyre::api
