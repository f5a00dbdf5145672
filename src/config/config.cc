#include "config/config.h"

namespace gyre::config {

const ChannelOptions* Config::find_namespace(std::string_view ns) const {
  if (ns.empty()) {
    return &channel;
  }
  for (const auto& n : namespaces) {
    if (n.name == ns) {
      return &n.options;
    }
  }
  return nullptr;
}

}  // namespace gyre::config
