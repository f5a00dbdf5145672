#include "transport/emulation.h"

#include <gtest/gtest.h>

// POST /emulation bodies (client-protocol.md §8.2.3; EmulationRequest fields §3.6).
namespace gyre::transport {
namespace {

TEST(EmulationTest, JsonRequestKeepsDataAsRawJson) {
  auto r = decode_emulation_json(
      R"({"session":"s1","node":"n1","data":"{\"subscribe\":{\"channel\":\"a\"},\"id\":2}"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->session, "s1");
  EXPECT_EQ(r->node, "n1");
  EXPECT_EQ(r->data, R"("{\"subscribe\":{\"channel\":\"a\"},\"id\":2}")");
  auto frame = decode_json_string(r->data);
  ASSERT_TRUE(frame);
  EXPECT_EQ(*frame, R"({"subscribe":{"channel":"a"},"id":2})");
}

TEST(EmulationTest, JsonRequestIgnoresUnknownKeysAndNulls) {
  auto r = decode_emulation_json(R"({"x":[1,2],"node":null,"session":"s","data":{}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->node, "");
  EXPECT_EQ(r->session, "s");
  EXPECT_EQ(r->data, "{}");
  EXPECT_FALSE(decode_json_string(r->data));  // not a string: commands are dropped
}

TEST(EmulationTest, JsonRequestRejectsNonObjectsWrongTypesAndGarbage) {
  EXPECT_FALSE(decode_emulation_json(""));
  EXPECT_FALSE(decode_emulation_json("[]"));
  EXPECT_FALSE(decode_emulation_json(R"({"session":1})"));
  EXPECT_FALSE(decode_emulation_json(R"({"session":"s")"));
  EXPECT_FALSE(decode_emulation_json(R"({"session":"s"} x)"));
  EXPECT_FALSE(decode_emulation_json("\xff\xfe"));
}

TEST(EmulationTest, ProtobufRequestDecodesFieldsAndSkipsUnknown) {
  // node=1 "n", session=2 "ss", data=3 bytes {0x02, 0x08, 0x01}, unknown varint field 9.
  std::string body = std::string("\x0a\x01n\x12\x02ss\x1a\x03\x02\x08\x01\x48\x05", 14);
  auto r = decode_emulation_protobuf(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->node, "n");
  EXPECT_EQ(r->session, "ss");
  EXPECT_EQ(r->data, std::string("\x02\x08\x01", 3));
}

TEST(EmulationTest, ProtobufRequestRejectsTruncatedAndMistypedInput) {
  EXPECT_FALSE(decode_emulation_protobuf(std::string("\x0a\x05n", 3)));  // length past end
  EXPECT_FALSE(decode_emulation_protobuf(std::string("\x0a\xff", 2)));   // truncated varint
  EXPECT_FALSE(decode_emulation_protobuf(std::string("\x08\x01", 2)));   // node as varint
  EXPECT_TRUE(decode_emulation_protobuf(""));                           // all fields empty
}

TEST(EmulationTest, JsonStringDecodingRequiresExactlyOneString) {
  EXPECT_EQ(decode_json_string(R"("a\nb")").value(), "a\nb");
  EXPECT_FALSE(decode_json_string(R"("a" "b")"));
  EXPECT_FALSE(decode_json_string("1"));
}

TEST(EmulationTest, RegistryAddsFindsAndRemovesSessions) {
  size_t before = EmulationRegistry::size();
  EmulationRegistry::add("sess-x", {3, {}});
  auto e = EmulationRegistry::find("sess-x");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->shard, 3u);
  EmulationRegistry::remove("sess-x");
  EXPECT_FALSE(EmulationRegistry::find("sess-x"));
  EXPECT_EQ(EmulationRegistry::size(), before);
}

}  // namespace
}  // namespace gyre::transport
