#include "core/log_sink.h"

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

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
    std::string text = std::to_string(dropped_since_) +
                       " log line(s) dropped: the log output was not being read fast enough";
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
    return spdlog::stdout_color_mt(name);
  }
  auto logger =
      std::make_shared<spdlog::logger>(name, std::make_shared<NonBlockingFdSink>(STDOUT_FILENO));
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace gyre::logging
