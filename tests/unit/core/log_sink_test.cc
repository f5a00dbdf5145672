#include "core/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

namespace gyre::logging {
namespace {

// Reads whatever is buffered on `fd` without blocking.
std::string drain(int fd) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  fcntl(fd, F_SETFL, flags);
  return out;
}

// A reader that never reads: logging must return anyway, drop what does not fit, and say so
// once the reader catches up.
void stuck_reader_case(int rd, int wr) {
  auto sink = std::make_shared<NonBlockingFdSink>(wr);
  spdlog::logger log("t", sink);
  log.set_pattern("%v");
  const std::string line(200, 'x');
  for (int i = 0; i < 5000; ++i) {  // ~1 MB: far beyond a pipe's or socket's buffer
    log.info("{} {}", i, line);
  }
  EXPECT_GT(sink->dropped(), 0u);
  EXPECT_LT(sink->dropped(), 5000u);  // what fit was written
  std::string out = drain(rd);
  log.info("after");
  out += drain(rd);
  // Every line is either written whole, in order, or counted in a notice that follows the
  // drops (a short notice may fit where a long line did not, so notices can come mid-way).
  // The notice's payload (pattern %v): its message, the fields mark, then `,"dropped":N`.
  const std::string kNotice =
      std::string("log lines dropped: the log output was not being read fast enough") +
      kFieldsMark + ",\"dropped\":";
  uint64_t written = 0;
  uint64_t reported = 0;
  int last = -1;
  size_t pos = 0;
  std::string final_line;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    ASSERT_NE(nl, std::string::npos) << "unterminated line";
    std::string l = out.substr(pos, nl - pos);
    pos = nl + 1;
    if (l.size() > kNotice.size() && l.starts_with(kNotice)) {
      reported += std::stoull(l.substr(kNotice.size()));
    } else if (l == "after") {
      final_line = l;
    } else {
      int i = std::stoi(l);
      EXPECT_GT(i, last);
      EXPECT_EQ(l, std::to_string(i) + " " + line);
      last = i;
      ++written;
    }
  }
  EXPECT_EQ(final_line, "after");
  // The notice comes right before the next line written.
  const size_t before_after = out.rfind('\n', out.size() - std::string("\nafter\n").size() - 1);
  EXPECT_TRUE(out.ends_with("\nafter\n") &&
              out.compare(before_after + 1, kNotice.size(), kNotice) == 0)
      << out.substr(out.size() - 200);
  EXPECT_EQ(reported, sink->dropped());
  EXPECT_EQ(written + reported, 5000u);
  log.info("again");
  EXPECT_EQ(drain(rd), "again\n");  // reported once
}

TEST(NonBlockingFdSinkTest, PipeWithStuckReaderDropsInsteadOfBlocking) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  stuck_reader_case(p[0], p[1]);
  // The inherited descriptor's flags are untouched (the sink reopened the pipe).
  EXPECT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
  close(p[0]);
  close(p[1]);
}

TEST(NonBlockingFdSinkTest, SocketWithStuckReaderDropsInsteadOfBlocking) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  stuck_reader_case(sv[0], sv[1]);
  EXPECT_EQ(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0);
  close(sv[0]);
  close(sv[1]);
}

TEST(NonBlockingFdSinkTest, RegularFileGetsEveryLineInOrder) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  auto sink = std::make_shared<NonBlockingFdSink>(fileno(f));
  spdlog::logger log("t", sink);
  log.set_pattern("%v");
  for (int i = 0; i < 3000; ++i) {
    log.info("line {}", i);
  }
  EXPECT_EQ(sink->dropped(), 0u);
  std::string all;
  std::rewind(f);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    all.append(buf, n);
  }
  std::fclose(f);
  std::string want;
  for (int i = 0; i < 3000; ++i) {
    want += "line " + std::to_string(i) + "\n";
  }
  EXPECT_EQ(all, want);
}

TEST(NonBlockingFdSinkTest, ClosedReaderAndFullDeviceAreIgnored) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);  // EPIPE from now on (SIGPIPE is ignored by the server; here too)
  auto old = signal(SIGPIPE, SIG_IGN);
  {
    auto sink = std::make_shared<NonBlockingFdSink>(p[1]);
    spdlog::logger log("t", sink);
    log.info("into a closed pipe");
    EXPECT_EQ(sink->dropped(), 0u);  // lost, not 'dropped for a slow reader'
  }
  signal(SIGPIPE, old);
  close(p[1]);
  int full = open("/dev/full", O_WRONLY);
  if (full >= 0) {
    auto sink = std::make_shared<NonBlockingFdSink>(full);
    spdlog::logger log("t", sink);
    log.info("disk full");
    EXPECT_EQ(sink->dropped(), 0u);
    close(full);
  }
}

}  // namespace
}  // namespace gyre::logging
