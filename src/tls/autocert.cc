#include "tls/autocert.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "config/config.h"
#include "core/log.h"

namespace gyre::tls {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::string_view kChallengePrefix = "/.well-known/acme-challenge/";
constexpr const char* kAccountKeyName = "acme_account+key";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

std::string normal_host(std::string_view s) {
  if (s.ends_with('.')) {
    s.remove_suffix(1);
  }
  return lower(s);
}

// Host without its port, as Go's net.SplitHostPort (a bracketed IPv6 loses its brackets).
std::string_view strip_port(std::string_view host) {
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    if (close != std::string_view::npos && (close + 1 == host.size() || host[close + 1] == ':')) {
      return host.substr(1, close - 1);
    }
    return host;
  }
  size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    return host.substr(0, colon);
  }
  return host;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `data` to dir/name as 0600 through a temporary file and a rename (a crash never
// leaves half a key), as Go's autocert DirCache.
std::expected<void, std::string> write_private(const std::string& dir, const std::string& name,
                                               const std::string& data) {
  std::string tmp = dir + "/." + name + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      std::string err = tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return std::unexpected(err);
    }
    off += static_cast<size_t>(n);
  }
  ::fchmod(fd, 0600);  // an existing temp file keeps its mode through O_CREAT
  ::close(fd);
  std::string path = dir + "/" + name;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return std::unexpected(err);
  }
  return {};
}

// A cached certificate usable for `host` now: key matches the leaf, the leaf names the host
// and is within its validity. The reason otherwise.
std::expected<std::shared_ptr<const CertifiedKey>, std::string> parse_cached(
    const std::string& host, const std::string& pem) {
  auto key = key_from_pem(pem);
  auto chain = certificates_from_pem(pem);
  ERR_clear_error();
  if (!key || chain.empty()) {
    return std::unexpected("no private key and certificate in it");
  }
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return std::unexpected("the private key does not match the certificate");
  }
  if (X509_check_host(leaf, host.data(), host.size(), 0, nullptr) != 1) {
    return std::unexpected("the certificate does not name " + host);
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 ||
      X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return std::unexpected("the certificate is not valid now");
  }
  auto ck = std::make_shared<CertifiedKey>();
  ck->chain = std::move(chain);
  ck->key = std::move(key);
  return ck;
}

}  // namespace

struct Autocert::State {
  asio::io_context& io;
  AutocertOptions options;

  mutable std::mutex mutex;  // guards the four maps, stats and on_issued below
  std::map<std::string, std::shared_ptr<const CertifiedKey>, std::less<>> certs;
  std::map<std::string, std::shared_ptr<const CertifiedKey>, std::less<>> alpn_certs;
  std::map<std::string, std::string, std::less<>> http_tokens;
  Stats stats;
  std::function<void(const std::string&)> on_issued;

  // ACME loop only.
  std::map<std::string, int64_t> not_after;  // host -> notAfter (epoch seconds) of certs[host]
  std::unique_ptr<AcmeClient> client;
  asio::steady_timer timer;
  bool stopped = false;
  bool started = false;

  State(asio::io_context& io_, AutocertOptions o)
      : io(io_), options(std::move(o)), timer(io_) {}

  bool whitelisted(std::string_view host) const {
    return std::find(options.hosts.begin(), options.hosts.end(), host) != options.hosts.end();
  }

  ChallengeHooks hooks() {
    ChallengeHooks h;
    h.put_http01 = [this](const std::string& token, const std::string& key_auth) {
      std::lock_guard lock(mutex);
      http_tokens[token] = key_auth;
    };
    h.drop_http01 = [this](const std::string& token) {
      std::lock_guard lock(mutex);
      http_tokens.erase(token);
    };
    h.put_tls_alpn01 = [this](const std::string& name, std::shared_ptr<const CertifiedKey> c) {
      std::lock_guard lock(mutex);
      alpn_certs[normal_host(name)] = std::move(c);
    };
    h.drop_tls_alpn01 = [this](const std::string& name) {
      std::lock_guard lock(mutex);
      alpn_certs.erase(normal_host(name));
    };
    return h;
  }

  void install(const std::string& host, std::shared_ptr<const CertifiedKey> cert) {
    not_after[host] = tls::not_after(cert->chain.front().get());
    std::lock_guard lock(mutex);
    certs[host] = std::move(cert);
  }

  static asio::awaitable<void> run(std::shared_ptr<State> self);
};

asio::awaitable<void> Autocert::State::run(std::shared_ptr<State> self) {
  State& s = *self;
  const ChallengeHooks hooks = s.hooks();
  const ChallengeType type = s.options.http01 ? ChallengeType::kHttp01 : ChallengeType::kTlsAlpn01;
  std::map<std::string, Clock::time_point> next_try;
  std::map<std::string, std::chrono::seconds> backoff;
  while (!s.stopped) {
    for (const auto& host : s.options.hosts) {
      auto now = Clock::now();
      auto it = s.not_after.find(host);
      if (it != s.not_after.end() &&
          now < Clock::from_time_t(it->second) - s.options.renew_before) {
        continue;  // fresh
      }
      if (auto t = next_try.find(host); t != next_try.end() && now < t->second) {
        continue;  // backing off
      }
      const bool renewal = it != s.not_after.end();
      logging::info(renewal ? "ACME: renewing certificate" : "ACME: obtaining certificate",
                    {{"host", host}, {"directory", s.options.directory_url}});
      std::expected<IssuedCertificate, std::string> r;
      try {
        r = co_await s.client->obtain(host, type, hooks);
      } catch (const std::exception& e) {
        // Nothing in obtain() should throw; if something does (allocation), the loop lives
        // on and retries like any failed order.
        r = std::unexpected(std::string("internal error: ") + e.what());
      }
      if (s.stopped) {
        co_return;
      }
      if (!r) {
        auto& b = backoff[host];
        b = b.count() == 0 ? s.options.retry_min : std::min(b * 2, s.options.retry_max);
        next_try[host] = Clock::now() + b;
        {
          std::lock_guard lock(s.mutex);
          ++s.stats.failures;
        }
        logging::error("ACME: cannot obtain certificate",
                       {{"host", host}, {"error", r.error()}, {"retry_in_seconds", b.count()}});
        continue;
      }
      backoff.erase(host);
      next_try.erase(host);
      if (!s.options.cache_dir.empty()) {
        if (auto w = write_private(s.options.cache_dir, host, r->pem); !w) {
          logging::error("ACME: cannot write the certificate cache", {{"error", w.error()}});
        }
      }
      s.install(host, r->cert);
      std::function<void(const std::string&)> cb;
      {
        std::lock_guard lock(s.mutex);
        ++s.stats.issued;
        cb = s.on_issued;
      }
      logging::info("ACME: certificate obtained",
                    {{"host", host}, {"not_after", s.not_after[host]}});
      if (cb) {
        cb(host);
      }
    }
    // Sleep until the next renewal or retry (at most a day: the clock may jump).
    auto now = Clock::now();
    auto wake = now + std::chrono::hours(24);
    for (const auto& host : s.options.hosts) {
      if (auto t = next_try.find(host); t != next_try.end()) {
        wake = std::min(wake, t->second);
      } else if (auto it = s.not_after.find(host); it != s.not_after.end()) {
        wake = std::min(wake, Clock::from_time_t(it->second) - s.options.renew_before);
      }
    }
    auto delay = std::max<Clock::duration>(wake - now, std::chrono::seconds(1));
    s.timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
    co_await s.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

AutocertOptions autocert_options(const config::Config& config) {
  AutocertOptions o;
  o.hosts = config::autocert_hosts(config);
  o.cache_dir = config.tls_autocert_cache_dir;
  o.email = config.tls_autocert_email;
  o.server_name = config.tls_autocert_server_name;
  o.http01 = config.tls_autocert_http;
  o.directory_url = config.tls_autocert_directory_url;
  o.directory_ca = config.tls_autocert_directory_ca;
  return o;
}

Autocert::Autocert(asio::io_context& io, AutocertOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {
  for (auto& h : state_->options.hosts) {
    h = normal_host(h);
  }
  state_->options.server_name = normal_host(state_->options.server_name);
}

Autocert::~Autocert() { stop(); }

std::expected<void, std::string> Autocert::start() {
  State& s = *state_;
  if (s.started) {
    return {};
  }
  if (s.options.hosts.empty()) {
    return std::unexpected("tls_autocert_host_whitelist: no host to obtain a certificate for");
  }
  EvpPkeyPtr account;
  const std::string& dir = s.options.cache_dir;
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return std::unexpected("tls_autocert_cache_dir " + dir + ": " + ec.message());
    }
    ::chmod(dir.c_str(), 0700);
    if (auto pem = read_file(std::filesystem::path(dir) / kAccountKeyName)) {
      account = key_from_pem(*pem);
      if (!account) {
        ERR_clear_error();
        return std::unexpected("tls_autocert_cache_dir: " + dir + "/" + kAccountKeyName +
                               " is not a PEM private key");
      }
    }
    for (const auto& host : s.options.hosts) {
      auto pem = read_file(std::filesystem::path(dir) / host);
      if (!pem) {
        continue;
      }
      auto cached = parse_cached(host, *pem);
      if (!cached) {
        logging::warn("ACME: ignoring cached certificate",
                      {{"host", host}, {"reason", cached.error()}});
        continue;
      }
      s.install(host, *cached);
      std::lock_guard lock(s.mutex);
      ++s.stats.from_cache;
    }
  }
  if (!account) {
    account = generate_p256_key();
    if (!account) {
      return std::unexpected("cannot generate the ACME account key");
    }
    if (!dir.empty()) {
      if (auto w = write_private(dir, kAccountKeyName, ec_key_to_pem(account.get())); !w) {
        return std::unexpected("tls_autocert_cache_dir: " + w.error());
      }
    }
  }
  AcmeClientOptions co;
  co.directory_url = s.options.directory_url;
  co.directory_ca = s.options.directory_ca;
  co.email = s.options.email;
  co.request_timeout = s.options.request_timeout;
  {
    std::lock_guard lock(s.mutex);  // stats() reads client
    s.client = std::make_unique<AcmeClient>(s.io, std::move(co), std::move(account));
  }
  s.started = true;
  asio::co_spawn(s.io, State::run(state_), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        logging::error("ACME: renewal loop ended", {{"error", ex.what()}});
      }
    }
  });
  return {};
}

void Autocert::stop() {
  // The flag and the timer belong to the ACME loop: hop there (a no-op once it is stopped).
  asio::post(state_->io, [s = state_] {
    s->stopped = true;
    s->timer.cancel();
  });
}

std::shared_ptr<const CertifiedKey> Autocert::certificate(std::string_view server_name,
                                                          bool acme_tls_alpn) {
  const State& s = *state_;
  std::string name = normal_host(server_name);
  if (name.empty()) {
    name = s.options.server_name;
  }
  if (name.empty() || !s.whitelisted(name)) {
    return nullptr;
  }
  std::lock_guard lock(s.mutex);
  const auto& map = acme_tls_alpn ? s.alpn_certs : s.certs;
  auto it = map.find(name);
  return it == map.end() ? nullptr : it->second;
}

Http01Answer Autocert::http01(std::string_view method, std::string_view host,
                              std::string_view target) const {
  const State& s = *state_;
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with(kChallengePrefix)) {
    if (method != "GET" && method != "HEAD") {
      return {400, "Use HTTPS\n", ""};
    }
    std::string url = "https://" + std::string(strip_port(host)) + std::string(target);
    std::string body = method == "GET" ? "<a href=\"" + html_escape(url) + "\">Found</a>.\n\n" : "";
    return {302, std::move(body), std::move(url)};
  }
  std::string name = normal_host(strip_port(host));
  if (!s.whitelisted(name)) {
    return {403, "acme/autocert: host \"" + name + "\" not configured in HostWhitelist\n", ""};
  }
  std::string_view token = path.substr(kChallengePrefix.size());
  std::lock_guard lock(s.mutex);
  auto it = s.http_tokens.find(token);
  if (it == s.http_tokens.end()) {
    return {404, "acme/autocert: certificate cache miss\n", ""};
  }
  return {200, it->second, ""};
}

void Autocert::on_issued(std::function<void(const std::string& host)> cb) {
  std::lock_guard lock(state_->mutex);
  state_->on_issued = std::move(cb);
}

Autocert::Stats Autocert::stats() const {
  std::lock_guard lock(state_->mutex);
  Stats out = state_->stats;
  out.acme_requests = state_->client ? state_->client->requests() : 0;
  return out;
}

}  // namespace gyre::tls
