#include "core/log_sink.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <string_view>

#include "core/json_escape.h"

namespace gyre::logging {

NonBlockingFdSink::NonBlockingFdSink(int fd) : fd_(fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return;
  }
  if (S_ISFIFO(st.st_mode)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    int nb = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (nb >= 0) {
      fd_ = nb;
      own_fd_ = true;
    }
    // Without /proc the inherited (blocking) descriptor is used as it is.
  } else if (S_ISSOCK(st.st_mode)) {
    mode_ = Mode::kSend;
  }
}

NonBlockingFdSink::~NonBlockingFdSink() {
  if (own_fd_) {
    ::close(fd_);
  }
}

size_t NonBlockingFdSink::write_some(const char* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = mode_ == Mode::kSend
                    ? ::send(fd_, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : ::write(fd_, p + done, n - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0 && errno == ENOTSOCK && mode_ == Mode::kSend) {
      mode_ = Mode::kWrite;
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return done;
    }
    return n;  // EPIPE, ENOSPC, EIO...: the line is lost either way; never retried
  }
  return done;
}

bool NonBlockingFdSink::emit(const spdlog::memory_buf_t& buf) {
  const char* p = buf.data();
  size_t n = buf.size();
  if (torn_) {
    if (write_some("\n", 1) == 0) {
      return false;
    }
    torn_ = false;
  }
  size_t w = write_some(p, n);
  if (w == 0 && n > 0) {
    return false;
  }
  if (w < n) {
    torn_ = true;  // the rest of this line is dropped; the next starts on a new line
  }
  return true;
}

void NonBlockingFdSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (dropped_since_ > 0) {
    const Field fields[] = {{"dropped", dropped_since_}};
    std::string text =
        payload("log lines dropped: the log output was not being read fast enough", fields);
    spdlog::details::log_msg notice(msg.time, spdlog::source_loc{}, msg.logger_name,
                                    spdlog::level::warn, text);
    spdlog::memory_buf_t nbuf;
    formatter_->format(notice, nbuf);
    if (!emit(nbuf)) {
      ++dropped_since_;
      dropped_total_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    dropped_since_ = 0;
  }
  spdlog::memory_buf_t buf;
  formatter_->format(msg, buf);
  if (!emit(buf)) {
    ++dropped_since_;
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::shared_ptr<spdlog::logger> make_stdout_logger(const std::string& name) {
  if (::isatty(STDOUT_FILENO) == 1) {
    auto logger = spdlog::stdout_color_mt(name);
    logger->set_formatter(std::make_unique<ConsoleFormatter>());
    return logger;
  }
  auto logger =
      std::make_shared<spdlog::logger>(name, std::make_shared<NonBlockingFdSink>(STDOUT_FILENO));
  logger->set_formatter(std::make_unique<JsonFormatter>());
  spdlog::register_logger(logger);
  return logger;
}

std::shared_ptr<spdlog::logger> make_file_logger(const std::string& name, const std::string& path) {
  // As Go's os.OpenFile(O_APPEND|O_CREATE): a missing directory is an error (spdlog would
  // create it).
  if (int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644); fd < 0) {
    throw spdlog::spdlog_ex("cannot open it", errno);
  } else {
    ::close(fd);
  }
  auto logger = spdlog::basic_logger_mt(name, path, false);
  logger->set_formatter(std::make_unique<JsonFormatter>());
  return logger;
}

namespace {

std::string_view zerolog_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "fatal";
    default:
      return "";
  }
}

std::string_view console_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "TRC";
    case spdlog::level::debug:
      return "DBG";
    case spdlog::level::info:
      return "INF";
    case spdlog::level::warn:
      return "WRN";
    case spdlog::level::err:
      return "ERR";
    case spdlog::level::critical:
      return "FTL";
    default:
      return "???";
  }
}

// Local time of `tp` as strftime `fmt`.
std::string local_time(spdlog::log_clock::time_point tp, const char* fmt) {
  std::time_t t = spdlog::log_clock::to_time_t(tp);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  std::string out(buf, n);
  return out;
}

// RFC 3339 with seconds (Go's time.RFC3339, zerolog's default): Z for UTC, else +hh:mm.
std::string rfc3339(spdlog::log_clock::time_point tp) {
  std::string s = local_time(tp, "%Y-%m-%dT%H:%M:%S%z");  // ...+0000
  std::string zone = s.substr(s.size() - 5);
  s.resize(s.size() - 5);
  if (zone == "+0000" || zone == "-0000") {
    return s + "Z";
  }
  return s + zone.substr(0, 3) + ":" + zone.substr(3);
}

void append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

}  // namespace

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string_view fields;
  if (size_t mark = payload.rfind(kFieldsMark); mark != std::string_view::npos) {
    fields = payload.substr(mark + 1);
    payload = payload.substr(0, mark);
  }
  std::string line = "{\"level\":";
  append_json_string(line, zerolog_level(msg.level));
  line += fields;
  line += ",\"time\":";
  append_json_string(line, rfc3339(msg.time));
  line += ",\"message\":";
  append_json_string(line, payload);
  line += "}\n";
  append(dest, line);
}

void ConsoleFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string_view fields;
  if (size_t mark = payload.rfind(kFieldsMark); mark != std::string_view::npos) {
    fields = payload.substr(mark + 1);
    payload = payload.substr(0, mark);
  }
  std::string line = local_time(msg.time, "%Y-%m-%d %H:%M:%S");
  line.push_back(' ');
  line += console_level(msg.level);
  line.push_back(' ');
  line += payload;
  // `,"k":v,"k2":"s"` -> ` k=v k2=s` (string values unquoted when they have no space).
  size_t pos = 0;
  while (pos < fields.size() && fields[pos] == ',') {
    size_t colon = fields.find("\":", pos);
    if (colon == std::string_view::npos) {
      break;
    }
    std::string_view key = fields.substr(pos + 2, colon - pos - 2);
    size_t vstart = colon + 2;
    size_t vend = vstart;
    if (vstart < fields.size() && fields[vstart] == '"') {
      vend = vstart + 1;
      while (vend < fields.size() && fields[vend] != '"') {
        vend += fields[vend] == '\\' ? 2 : 1;
      }
      ++vend;
    } else {
      vend = fields.find(',', vstart);
      vend = vend == std::string_view::npos ? fields.size() : vend;
    }
    std::string_view value = fields.substr(vstart, std::min(vend, fields.size()) - vstart);
    if (value.size() >= 2 && value.front() == '"' && value.find(' ') == std::string_view::npos) {
      value = value.substr(1, value.size() - 2);
    }
    line.push_back(' ');
    line += key;
    line.push_back('=');
    line += value;
    pos = vend;
  }
  line.push_back('\n');
  append(dest, line);
}

}  // namespace gyre::logging
