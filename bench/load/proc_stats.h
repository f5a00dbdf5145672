#pragma once

#include <cstdint>
#include <vector>

// Server resource sampling from /proc: CPU time (utime + stime) and resident set size, summed
// over the given PIDs (for example the nginx master and its worker). Stateless functions.
namespace gyre::bench {

struct ProcSample {
  bool ok = false;         // every PID was readable
  double cpu_seconds = 0;  // utime + stime, all PIDs
  uint64_t rss_bytes = 0;  // VmRSS, all PIDs
};

ProcSample sample_processes(const std::vector<int>& pids);

// This process's own CPU seconds (user + system), to show whether the tool was the bottleneck.
double self_cpu_seconds();

}  // namespace gyre::bench
