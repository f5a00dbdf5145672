#pragma once

#include <string>
#include <string_view>

#include "config/config.h"

// Helpers shared by loader.cc and validate.cc. Pure functions: thread-safe.
namespace gyre::config::internal {

// Go's time.Duration.String() at millisecond resolution: "0s", "300ms", "1m30s", "720h0m0s".
std::string format_duration(Duration d);

// Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
bool parse_go_bool(std::string_view text, bool& out);

}  // namespace gyre::config::internal
