#include "protocol/json_raw.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/codec.h"

namespace gyre::protocol {
namespace {

TEST(ValidJsonTest, AcceptsWhatSimdjsonAccepts) {
  for (const char* s : {"{}", "[]", "null", "true", "0", "-0.5e-3", "\"x\"", " {\"a\":[1,{\"b\":null}]} ",
                        "{\"s\":\"\\u00e9\\n\"}", "[\"\xc3\xa9\"]"}) {
    EXPECT_TRUE(valid_json(s)) << s;
  }
}

TEST(ValidJsonTest, AcceptsNumbersBeyondDoubleAndInt64AsGoDoes) {
  for (const char* s : {"1e400", " -1e400 ", "123456789012345678901234567890", "{\"n\":1e400}",
                        "[1e400,{\"a\":-99999999999999999999999}]", "{\"a\":{\"b\":[1E+999]}}",
                        "{\"a\":1e400,\"b\":\"ok\",\"c\":[true,false,null]}"}) {
    EXPECT_TRUE(valid_json(s)) << s;
  }
}

TEST(ValidJsonTest, RefusesMalformedNumbers) {
  for (const char* s : {"01", "1.", ".5", "-", "1e", "1e+", "+1", "--1", "0x10", "NaN", "Infinity",
                        "[1e400,01]", "{\"a\":1e400,\"b\":1.}", "[1e400,-]", "1e400 1", "[1e400,1e]"}) {
    EXPECT_FALSE(valid_json(s)) << s;
  }
}

TEST(ValidJsonTest, TheSlowPathStillValidatesEverythingElse) {
  // Each has a huge number first (DOM stops at it), then another defect the walk must find.
  for (const std::string& s : std::initializer_list<std::string>{"{\"a\":1e400,\"b\":tru}", "[1e400,]", "[1e400 1]", "{\"a\":1e400}x", "{\"a\":1e400,}",
        "{\"a\":1e400,\"b\":\"\\x\"}", "{\"a\":1e400,\"b\":\"\xff\"}",
        std::string("{\"a\":1e400,\"b\":\"\x01\"}"), "{\"a\":1e400,\"b\":nul}",
        "{\"a\":1e400,\"b\":nullx}", "{\"a\":1e400", "[1e400", "{\"a\":1e400,1:2}",
        "{\"a\" 1e400}", "[1e400]]"}) {
    EXPECT_FALSE(valid_json(s)) << s;
  }
}

TEST(ValidJsonTest, DepthLimitHoldsOnTheSlowPath) {
  std::string ok = "[1e400," + std::string(1000, '[') + std::string(1000, ']') + "]";
  EXPECT_TRUE(valid_json(ok));
  std::string deep = "[1e400," + std::string(5000, '[') + std::string(5000, ']') + "]";
  EXPECT_FALSE(valid_json(deep));
  // Around the limit (1023 nested arrays/objects, as the DOM pass): the walk refuses before the
  // On-Demand iterator reaches its own bound (an assertion in builds with simdjson development
  // checks).
  for (int levels = 1018; levels <= 1034; ++levels) {
    const int inner = levels - 1;  // the outer array holding the big number is one level
    std::string doc = "[1e400," + std::string(inner, '[') + std::string(inner, ']') + "]";
    EXPECT_EQ(valid_json(doc), levels <= 1023) << levels;
    std::string leaf = std::string(levels, '[') + "1e400" + std::string(levels, ']');
    EXPECT_EQ(valid_json(leaf), levels <= 1023) << levels;
    std::string small = std::string(levels, '[') + "1" + std::string(levels, ']');
    EXPECT_EQ(valid_json(small), levels <= 1023) << levels;  // the DOM path, same bound
  }
}

TEST(ValidJsonTest, EmptyAndWhitespaceAreInvalid) {
  EXPECT_FALSE(valid_json(""));
  EXPECT_FALSE(valid_json("   "));
}

}  // namespace
}  // namespace gyre::protocol
