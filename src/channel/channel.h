#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

// Channel name rules of Centrifugo v5 (server-api.md §5.1, reference.md §4.1): namespace
// resolution, name validity for client operations, private and user-limited channels.
// Pure functions over an immutable Config: thread-safe.
namespace gyre::channel {

struct Resolved {
  std::string_view namespace_name;         // "" = top level
  const config::ChannelOptions* options;   // never null
  std::string_view rest;                   // part matched by channel_regex
  bool is_private = false;                 // starts with channel_private_prefix
};

// Resolves `channel` to its namespace. Returns false when the channel's namespace is not
// configured (-> error 102). The views point into `channel` and `cfg`.
bool resolve(const config::Config& cfg, std::string_view channel, Resolved& out);

// Client-side name validity: channel_regex on `rest` if the namespace has one, else the
// whole channel must be ASCII. Invalid -> error 107.
bool valid_name(const config::Config& cfg, std::string_view channel, const Resolved& r);

// True when `channel` contains channel_user_boundary (and the boundary is non-empty).
bool is_user_limited(const config::Config& cfg, std::string_view channel);

// True when `user` is listed after the last channel_user_boundary of `channel`
// (split by channel_user_separator). The anonymous user "" never matches (we reject the
// reference quirk of matching an empty element; see docs/compatibility.md).
bool user_allowed(const config::Config& cfg, std::string_view channel, std::string_view user);

// Personal channel of `user`: "#<user>" or "<ns>:#<user>" (user_personal_channel_namespace),
// using the configured boundaries.
std::string personal_channel(const config::Config& cfg, std::string_view user);

}  // namespace gyre::channel
