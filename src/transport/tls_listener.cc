#include "transport/tls_listener.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/base64.h"

namespace gyre::transport {

namespace {

std::string key_error(std::string_view key, std::string_view message) {
  return fmt::format("config: key \"{}\": {}", key, message);
}

std::expected<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    return std::unexpected(fmt::format("read {}: {}", path, std::strerror(errno)));
  }
  return s.str();
}

bool looks_like_pem(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

// One TLS option set: the v5 flat family (files, then PEM) or a v6 TLS object (PEM values
// only, each resolved as PEM / base64 / file).
struct TlsKeys {
  std::string_view enabled_key;
  std::string_view cert_key, key_key;  // files; empty names: not in this family
  std::string_view cert_pem_key, key_pem_key;
  std::string_view root_ca_key, root_ca_pem_key;
  std::string_view client_ca_key, client_ca_pem_key;
  std::string_view server_name_key, insecure_key;
  std::string cert, key, cert_pem, key_pem, root_ca, root_ca_pem, client_ca, client_ca_pem;
  std::string server_name;
  bool insecure = false;
};

std::expected<std::string, std::string> pem_value(std::string_view key, const std::string& v) {
  auto r = resolve_pem(v);
  if (!r) {
    return std::unexpected(key_error(key, r.error()));
  }
  return r;
}

std::expected<std::shared_ptr<const tls::ServerTlsContext>, std::string> build(
    const TlsKeys& k, bool offer_h2, std::shared_ptr<tls::CertificateSource> source,
    std::vector<std::string>& warnings) {
  tls::ServerTlsOptions opts;
  opts.offer_h2 = offer_h2;
  // The certificate: files when both are set, else PEM when both are set (Centrifugo's
  // loader chain); with an ACME source the certificates come from it.
  if (!k.cert.empty() && !k.key.empty()) {
    auto cert = read_file(k.cert);
    if (!cert) {
      return std::unexpected(key_error(k.cert_key, "read TLS certificate: " + cert.error()));
    }
    auto key = read_file(k.key);
    if (!key) {
      return std::unexpected(key_error(k.key_key, "read TLS key: " + key.error()));
    }
    auto pair = tls::parse_certified_key(*cert, *key);
    if (!pair) {
      return std::unexpected(key_error(
          k.key_key, fmt::format("parse certificate/key pair for {}/{}: {}", k.cert_key,
                                 k.key_key, pair.error())));
    }
    opts.certificate = *pair;
  } else if (!k.cert_pem.empty() && !k.key_pem.empty()) {
    auto cert = pem_value(k.cert_pem_key, k.cert_pem);
    if (!cert) {
      return std::unexpected(cert.error());
    }
    auto key = pem_value(k.key_pem_key, k.key_pem);
    if (!key) {
      return std::unexpected(key.error());
    }
    auto pair = tls::parse_certified_key(*cert, *key);
    if (!pair) {
      return std::unexpected(key_error(
          k.key_pem_key, fmt::format("parse certificate/key pair for {}/{}: {}", k.cert_pem_key,
                                     k.key_pem_key, pair.error())));
    }
    opts.certificate = *pair;
  } else if (!source) {
    std::string files = k.cert_key.empty() ? std::string()
                                           : fmt::format("{} and {}, or ", k.cert_key, k.key_key);
    return std::unexpected(key_error(
        k.enabled_key, fmt::format("TLS needs a certificate and its key: set {}{} and {}", files,
                                   k.cert_pem_key, k.key_pem_key)));
  }
  // The root CA: read and checked as Centrifugo does (a bad one stops start-up), but a
  // server verifies no server, so it is not used.
  if (!k.root_ca.empty()) {
    auto ca = read_file(k.root_ca);
    if (!ca) {
      return std::unexpected(key_error(k.root_ca_key, "read the root CA certificate: " + ca.error()));
    }
    if (auto ok = tls::check_ca_bundle(*ca); !ok) {
      return std::unexpected(key_error(k.root_ca_key, "parse root CA certificate: " + ok.error()));
    }
  } else if (!k.root_ca_pem.empty()) {
    auto ca = pem_value(k.root_ca_pem_key, k.root_ca_pem);
    if (!ca) {
      return std::unexpected(ca.error());
    }
    if (auto ok = tls::check_ca_bundle(*ca); !ok) {
      return std::unexpected(key_error(k.root_ca_pem_key, "parse root CA certificate: " + ok.error()));
    }
  }
  if (!k.client_ca.empty()) {
    auto ca = read_file(k.client_ca);
    if (!ca) {
      return std::unexpected(
          key_error(k.client_ca_key, "read the client CA certificate: " + ca.error()));
    }
    if (auto ok = tls::check_ca_bundle(*ca); !ok) {
      return std::unexpected(key_error(k.client_ca_key, "parse client CA certificate: " + ok.error()));
    }
    opts.client_ca_pem = std::move(*ca);
  } else if (!k.client_ca_pem.empty()) {
    auto ca = pem_value(k.client_ca_pem_key, k.client_ca_pem);
    if (!ca) {
      return std::unexpected(ca.error());
    }
    if (auto ok = tls::check_ca_bundle(*ca); !ok) {
      return std::unexpected(
          key_error(k.client_ca_pem_key, "parse client CA certificate: " + ok.error()));
    }
    opts.client_ca_pem = std::move(*ca);
  }
  if (!k.server_name.empty()) {
    warnings.push_back(fmt::format(
        "{} has no effect on the HTTP server (as in Centrifugo: it names the server a client "
        "expects)",
        k.server_name_key));
  }
  if (k.insecure) {
    warnings.push_back(fmt::format(
        "{} has no effect on the HTTP server (as in Centrifugo: it skips a client's check of "
        "the server)",
        k.insecure_key));
  }
  auto ctx = tls::ServerTlsContext::create(std::move(opts), std::move(source));
  if (!ctx) {
    return std::unexpected(key_error(k.enabled_key, ctx.error()));
  }
  return *ctx;
}

}  // namespace

std::expected<std::string, std::string> resolve_pem(std::string_view value) {
  if (looks_like_pem(value)) {
    return std::string(value);
  }
  if (auto decoded = base64::decode_std(value); decoded && looks_like_pem(*decoded)) {
    return std::move(*decoded);
  }
  std::error_code ec;
  std::string path(value);
  if (!value.empty() && std::filesystem::is_regular_file(path, ec)) {
    auto content = read_file(path);
    if (!content) {
      return std::unexpected(content.error());
    }
    if (!looks_like_pem(*content)) {
      return std::unexpected(fmt::format("file {} holds no PEM data", path));
    }
    return std::move(*content);
  }
  return std::unexpected("neither PEM, nor base64 of PEM, nor an existing file");
}

std::expected<ListenerTls, std::string> make_listener_tls(
    const config::Config& cfg, bool offer_h2, std::shared_ptr<tls::CertificateSource> source) {
  ListenerTls out;
  const bool split = !cfg.internal_port.empty() && cfg.internal_port != cfg.port;
  if (cfg.tls || source) {
    TlsKeys k{"tls",          "tls_cert",      "tls_key",         "tls_cert_pem",
              "tls_key_pem",  "tls_root_ca",   "tls_root_ca_pem", "tls_client_ca",
              "tls_client_ca_pem", "tls_server_name", "tls_insecure_skip_verify"};
    k.cert = cfg.tls_cert;
    k.key = cfg.tls_key;
    k.cert_pem = cfg.tls_cert_pem;
    k.key_pem = cfg.tls_key_pem;
    k.root_ca = cfg.tls_root_ca;
    k.root_ca_pem = cfg.tls_root_ca_pem;
    k.client_ca = cfg.tls_client_ca;
    k.client_ca_pem = cfg.tls_client_ca_pem;
    k.server_name = cfg.tls_server_name;
    k.insecure = cfg.tls_insecure_skip_verify;
    auto ctx = build(k, offer_h2, source, out.warnings);
    if (!ctx) {
      return std::unexpected(ctx.error());
    }
    out.external = *ctx;
    if (!cfg.tls_external) {
      out.internal = out.external;
    }
  } else if (cfg.tls_external) {
    out.warnings.push_back("tls_external has no effect without tls");
  }
  if (cfg.internal_tls) {
    if (!split) {
      out.warnings.push_back(
          "http_server.internal_tls has no effect without a separate internal_port (the one "
          "port uses http_server.tls)");
    } else {
      TlsKeys k{"http_server.internal_tls.enabled",
                "",
                "",
                "http_server.internal_tls.cert_pem",
                "http_server.internal_tls.key_pem",
                "",
                "http_server.internal_tls.server_ca_pem",
                "",
                "http_server.internal_tls.client_ca_pem",
                "http_server.internal_tls.server_name",
                "http_server.internal_tls.insecure_skip_verify"};
      k.cert_pem = cfg.internal_tls_cert_pem;
      k.key_pem = cfg.internal_tls_key_pem;
      k.root_ca_pem = cfg.internal_tls_root_ca_pem;
      k.client_ca_pem = cfg.internal_tls_client_ca_pem;
      k.server_name = cfg.internal_tls_server_name;
      k.insecure = cfg.internal_tls_insecure_skip_verify;
      auto ctx = build(k, offer_h2, nullptr, out.warnings);
      if (!ctx) {
        return std::unexpected(ctx.error());
      }
      out.internal = *ctx;
    }
  }
  if (!split) {
    out.internal = nullptr;
  }
  return out;
}

}  // namespace gyre::transport
