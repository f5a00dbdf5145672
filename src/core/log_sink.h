#pragma once

#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/log.h"

// Log output that never blocks an event loop. spdlog's console sinks write synchronously: when
// stdout is a pipe or a socket whose reader is alive but stuck (a wedged log shipper, journald
// under pressure), the pipe fills and every shard thread that logs would block on it, stopping
// delivery. This sink writes without blocking and drops what does not fit, then reports how
// many lines it dropped in its next line.
namespace gyre::logging {

class NonBlockingFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Writes to `fd` (not owned). A pipe/FIFO is reopened through /proc/self/fd with O_NONBLOCK
  // (its own open file description: the flags of the inherited one, shared with the parent
  // process, stay untouched); a socket is written with MSG_DONTWAIT. Other kinds (regular
  // files, terminals, /dev/null, /dev/full) are written as they are: they do not stall
  // indefinitely, and write errors are ignored (a full disk must not stop delivery).
  explicit NonBlockingFdSink(int fd);
  ~NonBlockingFdSink() override;
  NonBlockingFdSink(const NonBlockingFdSink&) = delete;
  NonBlockingFdSink& operator=(const NonBlockingFdSink&) = delete;

  // Lines dropped because the reader was not keeping up, since start. Thread-safe.
  uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  enum class Mode { kWrite, kSend };
  // Writes all of [p, p+n) or, when the reader is stuck, as much as fits. Returns the count
  // written; errors other than would-block count as written (nothing to retry).
  size_t write_some(const char* p, size_t n);
  // True when the whole buffer went out; on a would-block before any byte, false.
  bool emit(const spdlog::memory_buf_t& buf);

  int fd_;
  bool own_fd_ = false;
  Mode mode_ = Mode::kWrite;
  bool torn_ = false;           // a line was cut short: start the next one on a new line
  uint64_t dropped_since_ = 0;  // not yet reported
  std::atomic<uint64_t> dropped_total_{0};
};

// The logger for standard output: spdlog's colour sink on a terminal, NonBlockingFdSink
// otherwise. Registered under `name`. Lines are JSON (JsonFormatter) unless stdout is a
// terminal (ConsoleFormatter), as Centrifugo's zerolog output.
std::shared_ptr<spdlog::logger> make_stdout_logger(const std::string& name);
// The logger for `log_file` (appended to, JSON lines as Centrifugo writes its log file).
// Throws spdlog::spdlog_ex when the file cannot be opened.
std::shared_ptr<spdlog::logger> make_file_logger(const std::string& name, const std::string& path);

// Centrifugo's JSON log line (zerolog): {"level":"info",<fields>,"time":"<RFC 3339, seconds,
// local zone>","message":"..."}; <fields> are those of logging::log (core/log.h), found after
// the last kFieldsMark of the payload. Levels: trace, debug, info, warn, error, fatal
// (critical). Thread-safe: stateless.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The terminal line, as zerolog's ConsoleWriter with Centrifugo's time format:
// `2006-01-02 15:04:05 INF message key=value`. Thread-safe: stateless.
class ConsoleFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<ConsoleFormatter>();
  }
};

}  // namespace gyre::logging
