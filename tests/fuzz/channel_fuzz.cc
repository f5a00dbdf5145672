// libFuzzer target: channel name rules (src/channel/channel.h; server-api.md §5.1).
//
// The input is `channel \0 user \0 boundaries`: the channel and user are checked against a
// configuration with namespaces and (from the third part, when present) fuzzed boundaries,
// private prefix and user separator. No crash, and:
//  - resolve() gives options that belong to the config, and a namespace name the channel
//    starts with (followed by the boundary);
//  - a user-limited channel allows exactly the users listed after its last user boundary;
//  - the personal channel of a user is user-limited and allows that user (non-empty user).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "channel/channel.h"
#include "fuzz_check.h"

namespace ch = gyre::channel;
namespace config = gyre::config;

namespace {

std::string_view next_part(std::string_view& in) {
  size_t nul = in.find('\0');
  std::string_view part = in.substr(0, nul);
  in = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view channel = next_part(in);
  std::string_view user = next_part(in);
  std::string_view knobs = next_part(in);

  config::Config cfg;
  cfg.namespaces.push_back({"chat", {}});
  cfg.namespaces.push_back({"personal", {}});
  cfg.namespaces.back().options.channel_regex = "^[a-z0-9#,]+$";
  cfg.user_personal_channel_namespace = knobs.size() % 2 == 0 ? "" : "personal";
  if (knobs.size() >= 4 && knobs[0] != knobs[1] && knobs[0] != knobs[2] && knobs[0] != knobs[3] &&
      knobs[1] != knobs[2] && knobs[1] != knobs[3] && knobs[2] != knobs[3]) {
    // One-character boundaries from the input (never empty: validate() refuses that).
    cfg.channel_namespace_boundary = std::string(1, knobs[0]);
    cfg.channel_user_boundary = std::string(1, knobs[1]);
    cfg.channel_user_separator = std::string(1, knobs[2]);
    cfg.channel_private_prefix = std::string(1, knobs[3]);
  }

  ch::Resolved r;
  if (ch::resolve(cfg, channel, r)) {
    GYRE_FUZZ_CHECK(r.options != nullptr);
    bool known = r.options == &cfg.channel;
    for (const auto& ns : cfg.namespaces) {
      known |= r.options == &ns.options;
    }
    GYRE_FUZZ_CHECK(known);
    if (!r.namespace_name.empty()) {
      GYRE_FUZZ_CHECK(channel.find(r.namespace_name) != std::string_view::npos);
    }
    (void)ch::valid_name(cfg, channel, r);
  }

  if (ch::is_user_limited(cfg, channel)) {
    // The users after the last boundary, split by the separator.
    std::string_view list = channel.substr(channel.rfind(cfg.channel_user_boundary) +
                                           cfg.channel_user_boundary.size());
    bool listed = false;
    while (true) {
      size_t sep = list.find(cfg.channel_user_separator);
      listed |= !user.empty() && list.substr(0, sep) == user;
      if (sep == std::string_view::npos) {
        break;
      }
      list.remove_prefix(sep + cfg.channel_user_separator.size());
    }
    GYRE_FUZZ_CHECK(ch::user_allowed(cfg, channel, user) == listed);
  } else {
    GYRE_FUZZ_CHECK(!ch::user_allowed(cfg, channel, user));
  }
  GYRE_FUZZ_CHECK(!ch::user_allowed(cfg, channel, ""));

  if (!user.empty() && user.find(cfg.channel_user_separator) == std::string_view::npos &&
      user.find(cfg.channel_user_boundary) == std::string_view::npos) {
    std::string personal = ch::personal_channel(cfg, user);
    GYRE_FUZZ_CHECK(ch::is_user_limited(cfg, personal));
    GYRE_FUZZ_CHECK(ch::user_allowed(cfg, personal, user));
  }
  return 0;
}
