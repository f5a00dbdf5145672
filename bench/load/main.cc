// gyre-load: the load generator of bench/load (see bench/README.md).
#include <sys/resource.h>

#include <csignal>
#include <cstdio>

#include "load/load_runner.h"
#include "load/nchan_config.h"
#include "load/options.h"
#include "load/report.h"
#include "load/self_test.h"

int main(int argc, char** argv) {
  using namespace gyre::bench;
  int exit_code = 0;
  auto options = parse_options(argc, argv, exit_code);
  if (!options) {
    return exit_code;
  }
  if (options->self_test) {
    return run_self_test();
  }
  if (!options->nchan_config_dir.empty()) {
    std::string err = write_nchan_config(options->port, options->nchan_config_dir);
    if (!err.empty()) {
      std::fprintf(stderr, "gyre-load: %s\n", err.c_str());
      return 1;
    }
    std::printf("%s/nginx.conf\n", options->nchan_config_dir.c_str());
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);

  // Every connection is a descriptor: raise the soft limit to the hard one.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  bool publish_phase = !options->connect_only && options->messages > 0;
  auto needed =
      static_cast<rlim_t>(options->clients + (publish_phase ? options->publishers : 0) + 16);
  if (needed > lim.rlim_cur) {
    std::fprintf(stderr,
                 "gyre-load: warning: %llu descriptors needed, RLIMIT_NOFILE is %llu; connects "
                 "beyond it will fail\n",
                 static_cast<unsigned long long>(needed),
                 static_cast<unsigned long long>(lim.rlim_cur));
  }

  LoadRunner runner(*options);
  Results results = runner.run();
  print_summary(*options, results);
  if (options->json) {
    print_json(*options, results);
  }
  bool ok = results.connect_ok > 0 && (options->connect_only || options->messages == 0 ||
                                        results.received > 0);
  return ok ? 0 : 1;
}
