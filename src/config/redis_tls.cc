#include "config/redis_tls.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/loader.h"
#include "core/base64.h"

namespace gyre::config::internal {

namespace {

// One family's keys: the v5 members and the v6 object path.
struct Family {
  std::string_view v5;  // "redis_" or "redis_sentinel_"
  std::string_view v6;  // "engine.redis.tls" or "engine.redis.sentinel_tls"
  bool Config::*enabled;
  std::string Config::*cert;
  std::string Config::*key;
  std::string Config::*cert_pem;
  std::string Config::*key_pem;
  std::string Config::*root_ca;
  std::string Config::*root_ca_pem;
  std::string Config::*client_ca;
  std::string Config::*client_ca_pem;
  std::string Config::*server_name;
  bool Config::*insecure_skip_verify;
  RedisTlsResolved Config::*out;
};

constexpr Family kRedis{"redis_",
                        "engine.redis.tls",
                        &Config::redis_tls,
                        &Config::redis_tls_cert,
                        &Config::redis_tls_key,
                        &Config::redis_tls_cert_pem,
                        &Config::redis_tls_key_pem,
                        &Config::redis_tls_root_ca,
                        &Config::redis_tls_root_ca_pem,
                        &Config::redis_tls_client_ca,
                        &Config::redis_tls_client_ca_pem,
                        &Config::redis_tls_server_name,
                        &Config::redis_tls_insecure_skip_verify,
                        &Config::redis_tls_resolved};
constexpr Family kSentinel{"redis_sentinel_",
                           "engine.redis.sentinel_tls",
                           &Config::redis_sentinel_tls,
                           &Config::redis_sentinel_tls_cert,
                           &Config::redis_sentinel_tls_key,
                           &Config::redis_sentinel_tls_cert_pem,
                           &Config::redis_sentinel_tls_key_pem,
                           &Config::redis_sentinel_tls_root_ca,
                           &Config::redis_sentinel_tls_root_ca_pem,
                           &Config::redis_sentinel_tls_client_ca,
                           &Config::redis_sentinel_tls_client_ca_pem,
                           &Config::redis_sentinel_tls_server_name,
                           &Config::redis_sentinel_tls_insecure_skip_verify,
                           &Config::redis_sentinel_tls_resolved};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> bio_of(std::string_view pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates of a PEM bundle (0 when none parses).
size_t count_certificates(std::string_view pem) {
  auto bio = bio_of(pem);
  size_t n = 0;
  while (true) {
    std::unique_ptr<X509, X509Free> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
      break;
    }
    ++n;
  }
  ERR_clear_error();
  return n;
}

// "" when `cert_pem` (leaf first) and `key_pem` parse and belong together; else why not.
std::string check_pair(std::string_view cert_pem, std::string_view key_pem) {
  auto cb = bio_of(cert_pem);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  auto kb = bio_of(key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  std::string why;
  if (!cert) {
    why = "no certificate found";
  } else if (!key) {
    why = "no private key found";
  } else if (X509_check_private_key(cert.get(), key.get()) != 1) {
    why = "the private key does not match the certificate";
  }
  ERR_clear_error();
  return why;
}

bool looks_like_pem(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return std::nullopt;
  }
  return std::move(out).str();
}

class Resolver {
 public:
  Resolver(Config& config, const Family& f, std::vector<std::string>& warnings)
      : config_(config), f_(f), warnings_(warnings), v6_(config.v6_proxies) {}

  void run() {
    RedisTlsResolved& out = config_.*f_.out;
    out = {};
    if (!(config_.*f_.enabled)) {
      for (auto m : {f_.cert, f_.key, f_.cert_pem, f_.key_pem, f_.root_ca, f_.root_ca_pem,
                     f_.client_ca, f_.client_ca_pem, f_.server_name}) {
        if (!(config_.*m).empty()) {
          warnings_.push_back(fmt::format("key \"{}\" has no effect while \"{}\" is false",
                                          name_of(m), name("enabled", "tls")));
          break;
        }
      }
      return;
    }
    out.enabled = true;
    out.server_name = config_.*f_.server_name;
    out.insecure_skip_verify = config_.*f_.insecure_skip_verify;
    // Client certificate: the file pair, else the PEM pair (Centrifugo's loader order).
    if (!(config_.*f_.cert).empty() || !(config_.*f_.key).empty()) {
      require_both(f_.cert, f_.key);
      out.cert_pem = file(f_.cert);
      out.key_pem = file(f_.key);
      check_pair_or_fail(out, f_.cert, f_.key);
    } else if (!(config_.*f_.cert_pem).empty() || !(config_.*f_.key_pem).empty()) {
      require_both(f_.cert_pem, f_.key_pem);
      out.cert_pem = pem(f_.cert_pem);
      out.key_pem = pem(f_.key_pem);
      check_pair_or_fail(out, f_.cert_pem, f_.key_pem);
    }
    if (!(config_.*f_.root_ca).empty()) {
      out.root_ca_pem = bundle(f_.root_ca, file(f_.root_ca));
    } else if (!(config_.*f_.root_ca_pem).empty()) {
      out.root_ca_pem = bundle(f_.root_ca_pem, pem(f_.root_ca_pem));
    }
    std::string Config::*client_ca = nullptr;
    if (!(config_.*f_.client_ca).empty()) {
      client_ca = f_.client_ca;
      bundle(client_ca, file(client_ca));
    } else if (!(config_.*f_.client_ca_pem).empty()) {
      client_ca = f_.client_ca_pem;
      bundle(client_ca, pem(client_ca));
    }
    if (client_ca != nullptr) {
      warnings_.push_back(fmt::format(
          "key \"{}\" has no effect: a client CA verifies the certificates of clients that "
          "connect to a TLS server, and Gyre is the client of Redis (Centrifugo v5.4.9 "
          "ignores it there too)",
          name_of(client_ca)));
    }
  }

 private:
  // The name of a key of this family as the user wrote it: v5 flat key, or v6 path.
  std::string name(std::string_view v6_leaf, std::string_view v5_suffix = {}) const {
    if (v6_) {
      return fmt::format("{}.{}", f_.v6, v6_leaf);
    }
    return fmt::format("{}{}", f_.v5, v5_suffix.empty() ? v6_leaf : v5_suffix);
  }
  std::string name_of(std::string Config::*m) const {
    if (m == f_.cert) return fmt::format("{}tls_cert", f_.v5);
    if (m == f_.key) return fmt::format("{}tls_key", f_.v5);
    if (m == f_.root_ca) return fmt::format("{}tls_root_ca", f_.v5);
    if (m == f_.client_ca) return fmt::format("{}tls_client_ca", f_.v5);
    if (m == f_.cert_pem) return name("cert_pem", "tls_cert_pem");
    if (m == f_.key_pem) return name("key_pem", "tls_key_pem");
    if (m == f_.root_ca_pem) return name("server_ca_pem", "tls_root_ca_pem");
    if (m == f_.client_ca_pem) return name("client_ca_pem", "tls_client_ca_pem");
    return name("server_name", "tls_server_name");
  }
  [[noreturn]] void fail(std::string Config::*m, std::string_view message) const {
    throw ConfigError(fmt::format("config: key \"{}\": {}", name_of(m), message));
  }
  void require_both(std::string Config::*a, std::string Config::*b) const {
    if ((config_.*a).empty()) {
      fail(a, fmt::format("must be set together with \"{}\"", name_of(b)));
    }
    if ((config_.*b).empty()) {
      fail(b, fmt::format("must be set together with \"{}\"", name_of(a)));
    }
  }
  std::string file(std::string Config::*m) const {
    const std::string& path = config_.*m;
    auto text = read_file(path);
    if (!text) {
      fail(m, fmt::format("cannot read file \"{}\"", path));
    }
    return *text;
  }
  // v6-config.md §2.1: PEM as is, else base64 of PEM, else the path of a PEM file.
  std::string pem(std::string Config::*m) const {
    const std::string& v = config_.*m;
    if (looks_like_pem(v)) {
      return v;
    }
    if (auto decoded = base64::decode_std(v); decoded && looks_like_pem(*decoded)) {
      return *decoded;
    }
    if (auto text = read_file(v)) {
      if (looks_like_pem(*text)) {
        return *text;
      }
      fail(m, fmt::format("file \"{}\" holds no PEM data", v));
    }
    fail(m, "is neither PEM, base64 of PEM nor the path of a readable file");
  }
  std::string bundle(std::string Config::*m, std::string text) const {
    if (count_certificates(text) == 0) {
      fail(m, "no valid certificates found");
    }
    return text;
  }
  void check_pair_or_fail(const RedisTlsResolved& out, std::string Config::*cert,
                          std::string Config::*key) const {
    if (std::string why = check_pair(out.cert_pem, out.key_pem); !why.empty()) {
      fail(why == "no private key found" ? key : cert,
           fmt::format("invalid certificate/key pair with \"{}\": {}",
                       name_of(why == "no private key found" ? cert : key), why));
    }
  }

  Config& config_;
  const Family& f_;
  std::vector<std::string>& warnings_;
  bool v6_;
};

}  // namespace

void resolve_redis_tls(Config& config, std::vector<std::string>& warnings) {
  if (config.engine != "redis") {
    config.redis_tls_resolved = {};
    config.redis_sentinel_tls_resolved = {};
    return;
  }
  Resolver(config, kRedis, warnings).run();
  Resolver(config, kSentinel, warnings).run();
  const bool url_sentinel =
      std::any_of(config.redis_address.begin(), config.redis_address.end(),
                  [](const std::string& a) { return a.find("sentinel") != std::string::npos; });
  if (config.redis_sentinel_tls_resolved.enabled && config.redis_sentinel_address.empty() &&
      !url_sentinel) {
    warnings.push_back(fmt::format("key \"{}\" has no effect without Sentinel addresses",
                                   config.v6_proxies ? "engine.redis.sentinel_tls.enabled"
                                                     : "redis_sentinel_tls"));
  }
}

}  // namespace gyre::config::internal
