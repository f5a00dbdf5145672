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

std::vector<std::string> autocert_hosts(const Config& config) {
  std::vector<std::string> out;
  for (const auto& entry : config.tls_autocert_host_whitelist) {
    size_t start = 0;
    while (start <= entry.size()) {
      size_t comma = entry.find(',', start);
      std::string part = entry.substr(start, comma == std::string::npos ? std::string::npos
                                                                          : comma - start);
      size_t b = part.find_first_not_of(" \t");
      size_t e = part.find_last_not_of(" \t");
      part = b == std::string::npos ? std::string() : part.substr(b, e - b + 1);
      if (!part.empty() && part.back() == '.') {
        part.pop_back();
      }
      for (char& c : part) {
        if (c >= 'A' && c <= 'Z') {
          c = static_cast<char>(c - 'A' + 'a');
        }
      }
      if (!part.empty()) {
        out.push_back(std::move(part));
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace gyre::config
