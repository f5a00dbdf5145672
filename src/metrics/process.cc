#include "metrics/process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/names.h"

namespace gyre::metrics {

namespace {

// Fields of /proc/self/stat after the command name (field 3 onwards), as text.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return {};
  }
  // The command name (field 2) is in parentheses and may contain spaces.
  size_t close = line.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) {
    fields.push_back(f);
  }
  return fields;
}

double boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) {
      return std::stod(line.substr(6));
    }
  }
  return -1;
}

// IpExt InOctets and OutOctets of /proc/self/net/netstat: a line of names, then a line of
// values, both starting "IpExt:". False when the file or the fields are missing.
bool ip_octets(double& in_octets, double& out_octets) {
  std::ifstream in("/proc/self/net/netstat");
  std::string names;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("IpExt:", 0) != 0) {
      continue;
    }
    if (names.empty()) {
      names = line;
      continue;
    }
    std::istringstream n(names.substr(6));
    std::istringstream v(line.substr(6));
    bool have_in = false;
    bool have_out = false;
    for (std::string name, value; n >> name && v >> value;) {
      if (name == "InOctets") {
        in_octets = std::strtod(value.c_str(), nullptr);
        have_in = true;
      } else if (name == "OutOctets") {
        out_octets = std::strtod(value.c_str(), nullptr);
        have_out = true;
      }
    }
    return have_in && have_out;
  }
  return false;
}

double rlimit_value(int resource) {
  rlimit rl{};
  if (::getrlimit(resource, &rl) != 0) {
    return -1;
  }
  // RLIM_INFINITY prints as Go's float64(math.MaxUint64) = 1.8446744073709552e+19.
  return static_cast<double>(rl.rlim_cur);
}

}  // namespace

void collect_process(const Registry& registry, Snapshot& out) {
  const Ids& id = ids();
  // /proc/self/stat fields counted from 3: utime 14, stime 15, starttime 22, vsize 23, rss 24.
  auto f = stat_fields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (f.size() >= 22 && ticks > 0) {
    auto at = [&f](size_t field) { return std::stod(f[field - 3]); };
    // A counter with a fractional value: Series::value (expose() prints count + value).
    out.at(registry, id.process_cpu_seconds_total, {}).value = (at(14) + at(15)) / ticks;
    out.at(registry, id.process_virtual_memory_bytes, {}).value = at(23);
    out.at(registry, id.process_resident_memory_bytes, {}).value =
        at(24) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    if (double bt = boot_time(); bt >= 0) {
      out.at(registry, id.process_start_time_seconds, {}).value = bt + at(22) / ticks;
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') {
        ++n;
      }
    }
    ::closedir(d);
    out.at(registry, id.process_open_fds, {}).value = n;
  }
  if (double v = rlimit_value(RLIMIT_NOFILE); v >= 0) {
    out.at(registry, id.process_max_fds, {}).value = v;
  }
  if (double v = rlimit_value(RLIMIT_AS); v >= 0) {
    out.at(registry, id.process_virtual_memory_max_bytes, {}).value = v;
  }
  if (double rx = 0, tx = 0; ip_octets(rx, tx)) {
    out.at(registry, id.process_network_receive_bytes_total, {}).value = rx;
    out.at(registry, id.process_network_transmit_bytes_total, {}).value = tx;
  }
}

}  // namespace gyre::metrics
