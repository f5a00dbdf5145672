#include "load/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gyre::bench {
namespace {

bool read_file(const char* path, char* buf, size_t cap, size_t& len) {
  FILE* f = std::fopen(path, "r");
  if (!f) {
    return false;
  }
  len = std::fread(buf, 1, cap - 1, f);
  buf[len] = '\0';
  std::fclose(f);
  return true;
}

}  // namespace

ProcSample sample_processes(const std::vector<int>& pids) {
  ProcSample s;
  if (pids.empty()) {
    return s;
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  s.ok = true;
  char path[64];
  char buf[4096];
  size_t len = 0;
  for (int pid : pids) {
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!read_file(path, buf, sizeof buf, len)) {
      s.ok = false;
      continue;
    }
    // The command name may hold spaces and parentheses: fields restart after the last ')'.
    const char* p = std::strrchr(buf, ')');
    if (!p) {
      s.ok = false;
      continue;
    }
    ++p;
    // After ')': field 3 (state) is the 1st token; utime and stime are fields 14 and 15.
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    int field = 2;
    const char* tok = p;
    while (*tok && field < 15) {
      while (*tok == ' ') {
        ++tok;
      }
      ++field;
      if (field == 14) {
        utime = std::strtoull(tok, nullptr, 10);
      } else if (field == 15) {
        stime = std::strtoull(tok, nullptr, 10);
      }
      while (*tok && *tok != ' ') {
        ++tok;
      }
    }
    s.cpu_seconds += static_cast<double>(utime + stime) / static_cast<double>(ticks);

    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!read_file(path, buf, sizeof buf, len)) {
      s.ok = false;
      continue;
    }
    if (const char* rss = std::strstr(buf, "VmRSS:")) {
      s.rss_bytes += std::strtoull(rss + 6, nullptr, 10) * 1024;
    }
  }
  return s;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace gyre::bench
