#include "channel/channel.h"

#include <re2/re2.h>

namespace gyre::channel {

bool resolve(const config::Config& cfg, std::string_view channel, Resolved& out) {
  std::string_view trimmed = channel;
  const std::string& prefix = cfg.channel_private_prefix;
  bool is_private = !prefix.empty() && trimmed.starts_with(prefix);
  if (is_private) {
    trimmed.remove_prefix(prefix.size());
  }
  const std::string& boundary = cfg.channel_namespace_boundary;
  size_t pos = boundary.empty() ? std::string_view::npos : trimmed.find(boundary);
  std::string_view ns_name;
  // Without a boundary the regex sees the whole original channel, `$` included, as in
  // Centrifugo (server-api.md §5.1 step 3).
  std::string_view rest = channel;
  if (pos != std::string_view::npos) {
    ns_name = trimmed.substr(0, pos);
    rest = trimmed.substr(pos + boundary.size());
  }
  // An empty name before the boundary (":news") selects the top level, which always
  // exists, as Centrifugo's lookup of "" does.
  const config::ChannelOptions* options = cfg.find_namespace(ns_name);
  if (options == nullptr) {
    return false;
  }
  out.namespace_name = ns_name;
  out.options = options;
  out.rest = rest;
  out.is_private = is_private;
  return true;
}

bool valid_name(const config::Config& cfg, std::string_view channel, const Resolved& r) {
  const config::ChannelOptions& options = *r.options;
  if (!options.channel_regex.empty()) {
    re2::StringPiece rest(r.rest.data(), r.rest.size());
    if (options.channel_regex_compiled != nullptr) {
      return re2::RE2::PartialMatch(rest, *options.channel_regex_compiled);
    }
    // A Config built without load() has no compiled regex; compile on the spot (slow path).
    re2::RE2 re(options.channel_regex, re2::RE2::Quiet);
    return re.ok() && re2::RE2::PartialMatch(rest, re);
  }
  for (char c : channel) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

bool is_user_limited(const config::Config& cfg, std::string_view channel) {
  const std::string& boundary = cfg.channel_user_boundary;
  return !boundary.empty() && channel.find(boundary) != std::string_view::npos;
}

bool user_allowed(const config::Config& cfg, std::string_view channel, std::string_view user) {
  const std::string& boundary = cfg.channel_user_boundary;
  if (user.empty() || boundary.empty()) {
    return false;
  }
  size_t pos = channel.rfind(boundary);
  if (pos == std::string_view::npos) {
    return false;
  }
  std::string_view users = channel.substr(pos + boundary.size());
  const std::string& separator = cfg.channel_user_separator;
  if (separator.empty()) {
    return users == user;  // nothing to split on: the whole tail is one user ID
  }
  while (true) {
    size_t next = users.find(separator);
    if (users.substr(0, next) == user) {
      return true;
    }
    if (next == std::string_view::npos) {
      return false;
    }
    users.remove_prefix(next + separator.size());
  }
}

std::string personal_channel(const config::Config& cfg, std::string_view user) {
  std::string out;
  const std::string& ns = cfg.user_personal_channel_namespace;
  if (!ns.empty()) {
    out.append(ns).append(cfg.channel_namespace_boundary);
  }
  out.append(cfg.channel_user_boundary).append(user);
  return out;
}

}  // namespace gyre::channel
