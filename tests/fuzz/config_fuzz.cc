// libFuzzer target: configuration files (src/config/loader.h).
//
// The first byte picks the format (0: .json, 1: .yaml, 2: .toml, by value mod 3); the rest is
// written to a temporary file of that extension and loaded with an empty environment and no
// flags. load() must either succeed or throw ConfigError: any other exception escapes and
// libFuzzer reports it.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "fuzz_check.h"

namespace {

// One private directory per fuzzing process (parallel -jobs must not share files).
const std::filesystem::path& work_dir() {
  static const std::filesystem::path* dir = [] {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "gyre-config-fuzz-XXXXXX").string();
    GYRE_FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    auto* p = new std::filesystem::path(tmpl);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return p;
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const char* const kExt[] = {"config.json", "config.yaml", "config.toml"};
  std::filesystem::path path = work_dir() / kExt[data[0] % 3];
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    GYRE_FUZZ_CHECK(out.good());
  }
  gyre::config::LoadInput in;
  in.config_path = path.string();
  in.config_path_explicit = true;
  try {
    gyre::config::LoadResult r = gyre::config::load(in);
    // A loaded config is a validated one: validating it again cannot fail.
    gyre::config::validate(r.config);
  } catch (const gyre::config::ConfigError&) {
    // Rejected with a message: the expected outcome for most inputs.
  }
  return 0;
}
