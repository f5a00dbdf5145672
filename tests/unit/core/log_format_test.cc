#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

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

class LogFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

TEST_F(LogFormatTest, JsonLineAsZerologWithFieldsBeforeTime) {
  JsonFormatter f;
  EXPECT_EQ(format(f, spdlog::level::info,
                   with_fields("starting", Fields().str("engine", "memory").num("pid", 42))),
            R"({"level":"info","engine":"memory","pid":42,"time":"2026-12-07T06:54:14Z","message":"starting"})"
            "\n");
  EXPECT_EQ(format(f, spdlog::level::warn, "a \"quoted\"\nline\x01"),
            R"({"level":"warn","time":"2026-12-07T06:54:14Z","message":"a \"quoted\"\nline\u0001"})"
            "\n");
  EXPECT_EQ(format(f, spdlog::level::critical, "x").substr(0, 18), R"({"level":"fatal",")");
  EXPECT_EQ(format(f, spdlog::level::err, "x").substr(0, 18), R"({"level":"error",")");
}

TEST_F(LogFormatTest, ConsoleLineWithKeyValues) {
  ConsoleFormatter f;
  EXPECT_EQ(format(f, spdlog::level::info,
                   with_fields("starting", Fields().str("engine", "memory").num("pid", 42).str(
                                               "name", "a b"))),
            "2026-12-07 06:54:14 INF starting engine=memory pid=42 name=\"a b\"\n");
  EXPECT_EQ(format(f, spdlog::level::debug, "plain"), "2026-12-07 06:54:14 DBG plain\n");
}

}  // namespace
}  // namespace gyre::logging
