#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <sstream>
#include <string>

#include "core/log.h"
#include "core/log_sink.h"

namespace gyre::logging {
namespace {

std::string format(spdlog::formatter& f, spdlog::level::level_enum level, std::string_view text) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "gyre", level, text);
  msg.time = spdlog::log_clock::from_time_t(1796626454);  // 2026-12-07T06:54:14Z
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  return std::string(buf.data(), buf.size());
}

// The JSON line of `message` with `fields` at info level.
std::string json_line(std::string_view message, std::initializer_list<Field> fields) {
  JsonFormatter f;
  return format(f, spdlog::level::info,
                payload(message, std::span<const Field>(fields.begin(), fields.size())));
}

class LogFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

TEST_F(LogFormatTest, JsonLineAsZerologWithFieldsBeforeTime) {
  EXPECT_EQ(json_line("starting", {{"engine", "memory"}, {"pid", 42}}),
            R"({"level":"info","engine":"memory","pid":42,"time":"2026-12-07T06:54:14Z","message":"starting"})"
            "\n");
  JsonFormatter f;
  EXPECT_EQ(format(f, spdlog::level::warn, "a \"quoted\"\nline\x01"),
            R"({"level":"warn","time":"2026-12-07T06:54:14Z","message":"a \"quoted\"\nline\u0001"})"
            "\n");
  EXPECT_EQ(format(f, spdlog::level::critical, "x").substr(0, 18), R"({"level":"fatal",")");
  EXPECT_EQ(format(f, spdlog::level::err, "x").substr(0, 18), R"({"level":"error",")");
}

TEST_F(LogFormatTest, FieldsAreTypedNumbersAndBooleansUnquoted) {
  const std::string s = "owned";
  const std::string_view v = "viewed";
  EXPECT_EQ(json_line("m", {{"i", -3001},
                            {"min", std::numeric_limits<int64_t>::min()},
                            {"max", std::numeric_limits<uint64_t>::max()},
                            {"size", size_t{7}},
                            {"t", true},
                            {"f", false},
                            {"d", 1.5},
                            {"nan", std::nan("")},
                            {"inf", -std::numeric_limits<double>::infinity()},
                            {"s", s},
                            {"v", v},
                            {"c", static_cast<const char*>(nullptr)}}),
            R"({"level":"info","i":-3001,"min":-9223372036854775808,"max":18446744073709551615,)"
            R"("size":7,"t":true,"f":false,"d":1.5,"nan":"NaN","inf":"-Inf","s":"owned",)"
            R"("v":"viewed","c":"","time":"2026-12-07T06:54:14Z","message":"m"})"
            "\n");
}

TEST_F(LogFormatTest, FieldValuesAreEscapedAndCannotForgeMembers) {
  // Quotes, backslashes, control bytes, the fields mark and a JSON fragment stay inside the
  // value: the line has exactly the members given.
  EXPECT_EQ(json_line("m\x1e,\"x\":1", {{"error", "a\"b\\c\n\x1e\",\"level\":\"fatal"},
                                        {"k\"ey", "\xc3\xa9"}}),
            R"({"level":"info","error":"a\"b\\c\n\u001e\",\"level\":\"fatal","k\"ey":"é",)"
            R"("time":"2026-12-07T06:54:14Z","message":"m\u001e,\"x\":1"})"
            "\n");
  // Without fields too.
  EXPECT_EQ(json_line("m\x1e,\"x\":1", {}),
            R"({"level":"info","time":"2026-12-07T06:54:14Z","message":"m\u001e,\"x\":1"})"
            "\n");
}

TEST_F(LogFormatTest, ConsoleLineWithKeyValues) {
  ConsoleFormatter f;
  const Field fields[] = {{"engine", "memory"}, {"pid", 42}, {"name", "a b"}, {"tls", false}};
  EXPECT_EQ(format(f, spdlog::level::info, payload("starting", fields)),
            "2026-12-07 06:54:14 INF starting engine=memory pid=42 name=\"a b\" tls=false\n");
  const Field tricky[] = {{"error", "x\",\"y\":\"z"}, {"code", 3001}};
  EXPECT_EQ(format(f, spdlog::level::err, payload("m", tricky)),
            "2026-12-07 06:54:14 ERR m error=x\\\",\\\"y\\\":\\\"z code=3001\n");
  EXPECT_EQ(format(f, spdlog::level::debug, "plain"), "2026-12-07 06:54:14 DBG plain\n");
}

TEST_F(LogFormatTest, LogWritesThroughTheDefaultLoggerOnlyWhenTheLevelIsOn) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  auto logger = std::make_shared<spdlog::logger>("log_format_test", sink);
  logger->set_formatter(std::make_unique<JsonFormatter>());
  logger->set_level(spdlog::level::info);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  EXPECT_FALSE(enabled(Level::debug));
  EXPECT_TRUE(enabled(Level::info));
  debug("closing client connection", {{"client", "c1"}, {"reason", "x"}, {"user", "u"}});
  EXPECT_EQ(out.str(), "");
  error("error publishing data to channel", {{"channel", "ch"}, {"error", "internal"}});
  warn("plain");
  spdlog::set_default_logger(previous);
  const std::string text = out.str();
  const std::string first = text.substr(0, text.find('\n'));
  EXPECT_TRUE(first.starts_with(R"({"level":"error","channel":"ch","error":"internal","time":")"))
      << first;
  EXPECT_TRUE(first.ends_with(R"(","message":"error publishing data to channel"})")) << first;
  EXPECT_NE(text.find(R"(,"message":"plain"})"), std::string::npos) << text;
}

TEST_F(LogFormatTest, SetLevelIsCheckedBeforeSpdlog) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>("log_level_test",
                                                 std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  set_level(Level::warn);
  EXPECT_FALSE(enabled(Level::info));
  EXPECT_TRUE(enabled(Level::err));
  info("dropped");
  error("kept", {{"code", 1}});
  set_level(Level::off);
  EXPECT_FALSE(enabled(Level::critical));
  fatal("dropped too");
  set_level(Level::trace);
  EXPECT_TRUE(enabled(Level::trace));
  set_level(Level::info);  // spdlog's default, for the tests that follow
  spdlog::set_default_logger(previous);
  EXPECT_EQ(out.str().find("dropped"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("kept"), std::string::npos) << out.str();
}

TEST(GoDurationTest, FormatsAsGoTimeDurationString) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(go_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(go_duration(nanoseconds(345)), "345ns");
  EXPECT_EQ(go_duration(nanoseconds(12'000)), "12\xc2\xb5s");
  EXPECT_EQ(go_duration(nanoseconds(12'345)), "12.345\xc2\xb5s");
  EXPECT_EQ(go_duration(nanoseconds(1'234'567)), "1.234567ms");
  EXPECT_EQ(go_duration(nanoseconds(1'500'000'000)), "1.5s");
  EXPECT_EQ(go_duration(nanoseconds(90'000'000'000)), "1m30s");
  EXPECT_EQ(go_duration(nanoseconds(3'600'000'000'000)), "1h0m0s");
  EXPECT_EQ(go_duration(nanoseconds(123'000'000'004)), "2m3.000000004s");
  EXPECT_EQ(go_duration(nanoseconds(-1'500'000)), "-1.5ms");
}

}  // namespace
}  // namespace gyre::logging
