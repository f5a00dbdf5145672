#include "protocol/json_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace gyre::protocol {
namespace {

TEST(JsonWriterTest, WritesNestedObjectsAndArraysWithCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", "x");
  w.key("b");
  w.begin_array();
  w.uint(1);
  w.int64(-2);
  w.boolean(false);
  w.begin_object();
  w.end_object();
  w.string("s");
  w.end_array();
  w.field_bool("c", true);
  w.key("d");
  w.begin_object();
  w.field_int("e", -9223372036854775807LL - 1);
  w.end_object();
  w.field_raw("f", "[1,\n2]");
  w.end_object();
  EXPECT_EQ(out,
            "{\"a\":\"x\",\"b\":[1,-2,false,{},\"s\"],\"c\":true,\"d\":{\"e\":"
            "-9223372036854775808},\"f\":[1,2]}");
}

TEST(JsonWriterTest, EmptyArrayAndObject) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("p");
  w.begin_array();
  w.end_array();
  w.key("q");
  w.begin_object();
  w.end_object();
  w.end_object();
  EXPECT_EQ(out, "{\"p\":[],\"q\":{}}");
}

TEST(JsonWriterTest, AppendEscapedEscapesQuotesBackslashesAndControlChars) {
  std::string out;
  JsonWriter::append_escaped(out, std::string("a\"\\\n\r\t\x00\x1f z", 10));
  EXPECT_EQ(out, "\"a\\\"\\\\\\n\\r\\t\\u0000\\u001f z\"");
}

TEST(JsonWriterTest, AppendEscapedPassesUtf8Through) {
  std::string out;
  JsonWriter::append_escaped(out, "\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(out, "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

TEST(JsonWriterTest, AppendRawRemovesOnlyNewlineBytes) {
  std::string out;
  JsonWriter::append_raw(out, "{\n\"a\" :\r\t1\n}");
  EXPECT_EQ(out, "{\"a\" :\r\t1}");
  std::string plain;
  JsonWriter::append_raw(plain, "{\"a\":1}");
  EXPECT_EQ(plain, "{\"a\":1}");
}

}  // namespace
}  // namespace gyre::protocol
