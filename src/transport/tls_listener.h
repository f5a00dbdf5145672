#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tls/server_tls.h"

// From the tls_* options (and v6 http_server.tls / http_server.internal_tls) to the TLS
// contexts of the external and internal listeners, as Centrifugo v5.4.9's MakeTLSConfig reads
// them: certificate files first, then PEM; the root CA is read and checked but has no effect
// on a server; tls_server_name and tls_insecure_skip_verify have none either (warnings say
// so). Pure start-up code: callable from any thread.
namespace gyre::transport {

struct ListenerTls {
  // Null: plain HTTP on that listener. `internal` is only used when internal_port is a
  // separate port.
  std::shared_ptr<const tls::ServerTlsContext> external;
  std::shared_ptr<const tls::ServerTlsContext> internal;
  std::vector<std::string> warnings;
};

// Errors are config errors naming the key: `config: key "tls_key": ...`.
// `source`: ACME autocert's certificates (tls_autocert), used instead of the fixed
// certificate on the external listener (and the internal one when it shares tls).
[[nodiscard]] std::expected<ListenerTls, std::string> make_listener_tls(
    const config::Config& cfg, bool offer_h2,
    std::shared_ptr<tls::CertificateSource> source = nullptr);

// A v6 PEM value (v6-config.md §2.1): PEM text as is, else base64 of PEM, else the name of a
// file holding PEM. The error says which of the three failed.
[[nodiscard]] std::expected<std::string, std::string> resolve_pem(std::string_view value);

}  // namespace gyre::transport
