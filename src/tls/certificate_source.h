#pragma once

// The contract between the TLS listener (tls_* options) and where its certificates come from
// when they are not fixed files/PEM strings: ACME autocert (tls_autocert_* options).
// Header only; the listener's OpenSSL context and the ACME manager live in their own files.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>
#include <vector>

namespace gyre::tls {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// A certificate chain (leaf first) and its private key. Immutable once built and shared between
// shards by shared_ptr: a handshake on any shard thread may use it (SSL_use_certificate /
// SSL_add1_chain_cert / SSL_use_PrivateKey take their own references).
struct CertifiedKey {
  std::vector<X509Ptr> chain;
  EvpPkeyPtr key;
};

// A source of certificates chosen per handshake. Called from the TLS client-hello callback on any
// shard thread: implementations are thread-safe and never block (no I/O; answer from memory).
class CertificateSource {
 public:
  virtual ~CertificateSource() = default;

  // The certificate to present for `server_name` (the SNI, empty when the client sent none), or
  // null to fail the handshake. `acme_tls_alpn`: the client offered only the ALPN protocol
  // "acme-tls/1" (an ACME tls-alpn-01 validation, RFC 8737): return that challenge certificate,
  // and the listener then selects "acme-tls/1" and closes the connection after the handshake.
  virtual std::shared_ptr<const CertifiedKey> certificate(std::string_view server_name,
                                                          bool acme_tls_alpn) = 0;
};

}  // namespace gyre::tls
