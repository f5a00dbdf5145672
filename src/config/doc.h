#pragma once

#include <string>

namespace gyre::config {

// The configuration reference (docs/configuration.md) rendered from the schema table, with
// the default of every key taken from a default-constructed Config. Pure: thread-safe.
std::string render_reference_markdown();

}  // namespace gyre::config
