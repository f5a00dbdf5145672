#pragma once

#include <string>

#include "config/config.h"
#include "config/loader.h"
#include "config/value.h"

// The effective configuration written back out, from the schema table: `checkconfig --print`,
// `defaultconfig` (a full Centrifugo v6 shaped file), `defaultenv` (every v6 variable) and
// `genconfig`. Pure functions of their arguments: thread-safe.
namespace gyre::config {

enum class Format { kJson, kYaml, kToml };

// The format a config file path selects by extension (.json, .yaml/.yml, .toml), as
// Centrifugo's -c does. Throws ConfigError for any other extension.
Format format_for_path(const std::string& path);

// Every schema key with its value in `config`: v5 flat keys, or the v6 nested tree (keys
// without a v6 equivalent are left out; durations as Go duration strings).
Value config_tree(const Config& config, Shape shape);

// `tree` as a config file that load() reads back to the same values.
std::string render(const Value& tree, Format format);

// One `NAME=value` line per Centrifugo v6 variable Gyre reads, sorted by name, as
// `centrifugo defaultenv` prints them (v6-config.md §5): strings quoted, booleans, integers
// and durations bare, lists as quoted items joined by a space, objects as quoted JSON;
// namespaces as their names followed by each one's CENTRIFUGO_CHANNEL_NAMESPACES_<N>_* lines.
std::string render_env(const Config& config);

}  // namespace gyre::config
