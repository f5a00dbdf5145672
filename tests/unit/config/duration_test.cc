#include <gtest/gtest.h>

#include "config/loader.h"

namespace gyre::config {
namespace {

using std::chrono::milliseconds;

// Fixture for parse_duration (Go time.ParseDuration semantics at millisecond resolution).
class ConfigDurationTest : public ::testing::Test {
 protected:
  static std::optional<int64_t> ms(std::string_view text) {
    Duration d{-12345};
    if (!parse_duration(text, d)) {
      return std::nullopt;
    }
    return d.count();
  }
};

TEST_F(ConfigDurationTest, ParsesSingleUnits) {
  EXPECT_EQ(ms("300ms"), 300);
  EXPECT_EQ(ms("25s"), 25000);
  EXPECT_EQ(ms("2m"), 120000);
  EXPECT_EQ(ms("720h"), 720LL * 3600 * 1000);
  EXPECT_EQ(ms("5000000ns"), 5);
  EXPECT_EQ(ms("2000us"), 2);
  EXPECT_EQ(ms("3000\xc2\xb5s"), 3);  // micro sign
  EXPECT_EQ(ms("4000\xce\xbcs"), 4);  // Greek mu
}

TEST_F(ConfigDurationTest, ParsesSequencesAndFractions) {
  EXPECT_EQ(ms("1m30s"), 90000);
  EXPECT_EQ(ms("2h45m"), (2 * 60 + 45) * 60 * 1000);
  EXPECT_EQ(ms("1h30m15s100ms"), ((60 + 30) * 60 + 15) * 1000 + 100);
  EXPECT_EQ(ms("1.5s"), 1500);
  EXPECT_EQ(ms(".5s"), 500);
  EXPECT_EQ(ms("1.s"), 1000);
  EXPECT_EQ(ms("0.25h"), 15 * 60 * 1000);
}

TEST_F(ConfigDurationTest, AcceptsZeroAndSigns) {
  EXPECT_EQ(ms("0"), 0);
  EXPECT_EQ(ms("-0"), 0);
  EXPECT_EQ(ms("0s"), 0);
  EXPECT_EQ(ms("-1m"), -60000);
  EXPECT_EQ(ms("+5s"), 5000);
}

TEST_F(ConfigDurationTest, RejectsMalformedInput) {
  EXPECT_EQ(ms(""), std::nullopt);
  EXPECT_EQ(ms("abc"), std::nullopt);
  EXPECT_EQ(ms("5"), std::nullopt);  // missing unit
  EXPECT_EQ(ms("1x"), std::nullopt);
  EXPECT_EQ(ms("."), std::nullopt);
  EXPECT_EQ(ms("-"), std::nullopt);
  EXPECT_EQ(ms("1s "), std::nullopt);
  EXPECT_EQ(ms("s"), std::nullopt);
  EXPECT_EQ(ms("1S"), std::nullopt);
}

TEST_F(ConfigDurationTest, RejectsOverflow) {
  EXPECT_EQ(ms("2562047h"), 2562047LL * 3600 * 1000);
  EXPECT_EQ(ms("2562048h"), std::nullopt);
  EXPECT_EQ(ms("99999999999999999999s"), std::nullopt);
}

TEST_F(ConfigDurationTest, TruncatesToMillisecondsButRejectsSubMillisecond) {
  EXPECT_EQ(ms("1500us"), 1);
  EXPECT_EQ(ms("100us"), std::nullopt);
  EXPECT_EQ(ms("1ns"), std::nullopt);
}

}  // namespace
}  // namespace gyre::config
