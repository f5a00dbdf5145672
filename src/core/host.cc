#include "core/host.h"

#include <unistd.h>

#include <array>

namespace gyre {

std::string hostname() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  return std::string(buf.data());
}

}  // namespace gyre
