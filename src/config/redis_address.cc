#include "config/redis_address.h"

#include <charconv>
#include <string>

#include "config/config.h"
#include "config/internal.h"
#include "config/loader.h"

namespace gyre::config {

namespace {

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

// "%XX" escapes of the userinfo part of a URL.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Takes a leading "user[:password]@" (escaped) off `authority` into a.user / a.password; an
// empty user is none.
void take_userinfo(std::string_view& authority, RedisAddress& a) {
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) {
    return;
  }
  std::string_view userinfo = authority.substr(0, at);
  authority.remove_prefix(at + 1);
  if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
    a.user = unescape(userinfo.substr(0, colon));
    a.password = unescape(userinfo.substr(colon + 1));
  } else {
    a.user = unescape(userinfo);
  }
  if (a.user->empty()) {
    a.user.reset();
  }
}

constexpr size_t kMaxUnixPath = 108;

std::expected<RedisAddress, std::string> parse_host_port(std::string_view text);

// Centrifugo v6 URL query options (centrifuge v0.38 optionsFromAddress). Unknown options are
// errors here (centrifuge ignores them). Returns "" or what is wrong.
std::string parse_query(std::string_view query, RedisAddress& a) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    size_t eq = item.find('=');
    std::string key = unescape(item.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : unescape(item.substr(eq + 1));
    auto boolean = [&](bool& out) -> std::string {
      if (!internal::parse_go_bool(value, out)) {
        return "invalid " + key + " value: \"" + value + "\"";
      }
      return "";
    };
    auto duration = [&](std::optional<std::chrono::milliseconds>& out) -> std::string {
      Duration d{};
      if (!parse_duration(value, d) || d.count() <= 0) {
        return "invalid " + key + ": \"" + value + "\"";
      }
      out = d;
      return "";
    };
    std::string why;
    if (key == "addr") {
      auto hp = parse_host_port(value);
      if (!hp) {
        return "addr \"" + value + "\": " + hp.error();
      }
      a.more.push_back({hp->host, hp->port});
    } else if (key == "sentinel_master_name") {
      a.sentinel_master_name = value;
      if (!value.empty()) {
        a.mode = RedisAddress::Mode::kSentinel;
      }
    } else if (key == "sentinel_user") {
      a.sentinel_user = value;
    } else if (key == "sentinel_password") {
      a.sentinel_password = value;
    } else if (key == "connect_timeout") {
      why = duration(a.connect_timeout);
    } else if (key == "io_timeout") {
      why = duration(a.io_timeout);
    } else if (key == "tls_enabled") {
      bool on = false;
      why = boolean(on);
      a.tls = a.tls || on;
    } else if (key == "sentinel_tls_enabled") {
      bool on = false;
      why = boolean(on);
      a.sentinel_tls = a.sentinel_tls || on;
    } else if (key == "force_resp2") {
      bool ignored = false;
      why = boolean(ignored);  // honoured trivially: Gyre speaks RESP2 only
    } else if (key == "replica_client_enabled") {
      bool on = false;
      why = boolean(on);
      if (why.empty() && on) {
        why = "replica_client_enabled: reads from replicas are not supported yet";
      }
    } else {
      why = "unknown URL option \"" + key + "\"";
    }
    if (!why.empty()) {
      return why;
    }
  }
  return "";
}

// unix://[user[:password]@]/path: centrifuge takes the URL's path (user and password from
// the userinfo); a host part would be dropped by it, so it is refused here.
std::expected<RedisAddress, std::string> parse_unix(std::string_view rest) {
  RedisAddress a;
  a.port = 0;
  if (rest.find('?') != std::string_view::npos) {
    return std::unexpected(std::string("URL options (\"?...\") are not supported yet"));
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view authority = rest.substr(0, slash);
    take_userinfo(authority, a);
    if (authority.empty()) {
      a.unix_path = unescape(rest.substr(slash));
    }
  }
  if (a.unix_path.size() < 2) {
    return std::unexpected(
        std::string("expected unix://[user[:password]@]/absolute/path/to/redis.sock"));
  }
  if (a.unix_path.size() >= kMaxUnixPath) {  // sockaddr_un::sun_path, with its NUL
    return std::unexpected("socket path longer than " + std::to_string(kMaxUnixPath - 1) +
                           " bytes");
  }
  return a;
}

}  // namespace

std::expected<RedisAddress, std::string> parse_redis_address(std::string_view text) {
  RedisAddress a;
  std::string_view rest = text;
  bool url = false;
  if (auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme != "redis" && scheme != "tcp" && scheme != "unix" && scheme != "rediss" &&
        scheme != "redis+cluster" && scheme != "redis+sentinel" && scheme != "rediss+sentinel") {
      return std::unexpected("scheme \"" + std::string(scheme) +
                             "\" is not supported; supported: redis://, rediss://, tcp://, "
                             "unix://, redis+cluster://, redis+sentinel://, rediss+sentinel:// "
                             "or host:port");
    }
    a.tls = scheme.starts_with("rediss");
    a.sentinel_tls = scheme == "rediss+sentinel";
    if (scheme == "redis+cluster") {
      a.mode = RedisAddress::Mode::kCluster;
    } else if (scheme.ends_with("+sentinel")) {
      a.mode = RedisAddress::Mode::kSentinel;
    }
    url = true;
    rest.remove_prefix(scheme_end + 3);
    if (scheme == "unix") {
      return parse_unix(rest);
    }
  }
  if (url) {
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      if (auto why = parse_query(rest.substr(q + 1), a); !why.empty()) {
        return std::unexpected(why);
      }
      rest = rest.substr(0, q);
    }
    if (a.mode == RedisAddress::Mode::kSentinel && a.sentinel_master_name.empty()) {
      return std::unexpected(
          std::string("sentinel master name must be set (?sentinel_master_name=...)"));
    }
    if (a.mode == RedisAddress::Mode::kStandalone && !a.more.empty()) {
      return std::unexpected(
          std::string("?addr= is for redis+cluster:// and redis+sentinel:// addresses"));
    }
    take_userinfo(rest, a);
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
      std::string_view db = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
      if (!db.empty()) {
        auto n = parse_int(db);
        if (!n || *n < 0) {
          return std::unexpected("invalid database number \"" + std::string(db) + "\"");
        }
        a.db = *n;
      }
    }
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return std::unexpected(std::string("unclosed \"[\" in the host"));
    }
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return std::unexpected(std::string("expected \":port\" after \"]\""));
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    rest.remove_prefix(colon);
  } else {
    rest = {};
  }
  if (!rest.empty()) {  // ":port"
    auto port = parse_int(rest.substr(1));
    if (!port || *port <= 0 || *port > 65535) {
      return std::unexpected("invalid port \"" + std::string(rest.substr(1)) + "\"");
    }
    a.port = *port;
  } else if (!url) {
    return std::unexpected(std::string("expected host:port or a redis:// URL"));
  }
  if (host.empty()) {
    return std::unexpected(std::string("empty host"));
  }
  a.host = std::string(host);
  return a;
}

namespace {
std::expected<RedisAddress, std::string> parse_host_port(std::string_view text) {
  if (text.find("://") != std::string_view::npos) {
    return std::unexpected(std::string("expected host:port"));
  }
  return parse_redis_address(text);
}
}  // namespace

std::expected<std::vector<RedisAddress>, std::string> parse_host_port_list(
    std::string_view element) {
  std::vector<RedisAddress> out;
  size_t start = 0;
  while (true) {
    size_t comma = element.find(',', start);
    std::string_view item =
        element.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                              : comma - start);
    if (item.find("://") != std::string_view::npos) {
      return std::unexpected("\"" + std::string(item) + "\": expected host:port");
    }
    auto a = parse_redis_address(item);
    if (!a) {
      return std::unexpected("\"" + std::string(item) + "\": " + a.error());
    }
    out.push_back(std::move(*a));
    if (comma == std::string_view::npos) {
      return out;
    }
    start = comma + 1;
  }
}

}  // namespace gyre::config
