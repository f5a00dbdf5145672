#pragma once

#include <string>

// Facts about the machine the process runs on. Thread-safe.
namespace gyre {

// The host name (gethostname), or "localhost" when it cannot be read. Centrifugo's default
// node name is "<hostname>_<port>".
std::string hostname();

}  // namespace gyre
