#include "tls/server_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <vector>

namespace gyre::tls {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  std::string last;
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    last = buf;
    e = ERR_get_error();
  }
  return last;
}

std::vector<X509Ptr> read_certs(std::string_view pem) {
  std::vector<X509Ptr> out;
  auto bio = mem_bio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the input reads as an error
  return out;
}

constexpr unsigned char kAlpnH2[] = {'h', '2'};
constexpr unsigned char kAlpnHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

// Reads the host_name of a server_name extension (RFC 6066 §3).
std::string_view sni_of(const unsigned char* p, size_t len) {
  if (len < 2) {
    return {};
  }
  size_t list = (size_t{p[0]} << 8) | p[1];
  p += 2;
  len -= 2;
  if (list > len) {
    return {};
  }
  while (list >= 3) {
    unsigned type = p[0];
    size_t n = (size_t{p[1]} << 8) | p[2];
    if (n > list - 3) {
      return {};
    }
    if (type == 0) {
      return std::string_view(reinterpret_cast<const char*>(p + 3), n);
    }
    p += 3 + n;
    list -= 3 + n;
  }
  return {};
}

// True when an ALPN extension (RFC 7301 §3.1) lists exactly "acme-tls/1" (RFC 8737 §3).
bool only_acme_alpn(const unsigned char* p, size_t len) {
  if (len < 3) {
    return false;
  }
  size_t list = (size_t{p[0]} << 8) | p[1];
  if (list != len - 2) {
    return false;
  }
  size_t n = p[2];
  return n + 1 == list &&
         std::string_view(reinterpret_cast<const char*>(p + 3), n) == kAcmeTlsAlpn;
}

}  // namespace

struct ContextCallbacks {
  // Picks the certificate for this handshake: per handshake, so that a CertificateSource can
  // answer per SNI and renew certificates without touching the context.
  static int client_hello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<const ServerTlsContext*>(arg);
    auto* conn = static_cast<TlsConnection*>(SSL_get_app_data(ssl));
    std::shared_ptr<const CertifiedKey> key = self->certificate_;
    if (self->source_) {
      const unsigned char* ext = nullptr;
      size_t ext_len = 0;
      std::string_view sni;
      if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
        sni = sni_of(ext, ext_len);
      }
      bool acme = false;
      if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
                                    &ext, &ext_len) == 1) {
        acme = only_acme_alpn(ext, ext_len);
      }
      key = self->source_->certificate(sni, acme);
      if (conn != nullptr) {
        conn->acme_ = acme && key != nullptr;
      }
    }
    if (!key || key->chain.empty() || !key->key) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_use_certificate(ssl, key->chain[0].get()) != 1 ||
        SSL_use_PrivateKey(ssl, key->key.get()) != 1 || SSL_clear_chain_certs(ssl) != 1) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    for (size_t i = 1; i < key->chain.size(); ++i) {
      if (SSL_add1_chain_cert(ssl, key->chain[i].get()) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
      }
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  // ALPN as Go's net/http server with TLS: "h2" (when enabled) then "http/1.1"; "acme-tls/1"
  // only for an ACME validation. No overlap: no ALPN (the connection speaks HTTP/1.1).
  static int alpn_select(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned int inlen, void* arg) {
    auto* self = static_cast<const ServerTlsContext*>(arg);
    auto* conn = static_cast<TlsConnection*>(SSL_get_app_data(ssl));
    auto offered = [&](std::string_view proto) -> const unsigned char* {
      for (unsigned i = 0; i < inlen;) {
        unsigned n = in[i];
        if (i + 1 + n > inlen) {
          return nullptr;
        }
        if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == proto) {
          return in + i + 1;
        }
        i += 1 + n;
      }
      return nullptr;
    };
    if (conn != nullptr && conn->acme_) {
      if (const unsigned char* p = offered(kAcmeTlsAlpn)) {
        *out = p;
        *outlen = static_cast<unsigned char>(kAcmeTlsAlpn.size());
        return SSL_TLSEXT_ERR_OK;
      }
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (self->offer_h2_) {
      if (const unsigned char* p = offered(std::string_view(reinterpret_cast<const char*>(kAlpnH2), 2))) {
        *out = p;
        *outlen = 2;
        return SSL_TLSEXT_ERR_OK;
      }
    }
    if (const unsigned char* p =
            offered(std::string_view(reinterpret_cast<const char*>(kAlpnHttp11), 8))) {
      *out = p;
      *outlen = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
  }
};

std::expected<std::shared_ptr<const CertifiedKey>, std::string> parse_certified_key(
    std::string_view cert_pem, std::string_view key_pem) {
  auto out = std::make_shared<CertifiedKey>();
  out->chain = read_certs(cert_pem);
  if (out->chain.empty()) {
    return std::unexpected("no certificate found in PEM data");
  }
  auto bio = mem_bio(key_pem);
  out->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!out->key) {
    ERR_clear_error();
    return std::unexpected("no private key found in PEM data");
  }
  if (X509_check_private_key(out->chain[0].get(), out->key.get()) != 1) {
    ERR_clear_error();
    return std::unexpected("private key does not match public key");
  }
  return std::shared_ptr<const CertifiedKey>(std::move(out));
}

std::expected<void, std::string> check_ca_bundle(std::string_view pem) {
  if (read_certs(pem).empty()) {
    return std::unexpected("no valid certificates found");
  }
  return {};
}

std::expected<std::shared_ptr<const ServerTlsContext>, std::string> ServerTlsContext::create(
    ServerTlsOptions options, std::shared_ptr<CertificateSource> source) {
  if (!source && !options.certificate) {
    return std::unexpected("no certificate");
  }
  std::shared_ptr<ServerTlsContext> self(new ServerTlsContext());
  self->ctx_ = SSL_CTX_new(TLS_server_method());
  if (self->ctx_ == nullptr) {
    return std::unexpected("SSL_CTX_new: " + openssl_error());
  }
  SSL_CTX* ctx = self->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);  // Go's default since 1.22
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle connections keep no record buffers
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  self->certificate_ = std::move(options.certificate);
  self->source_ = std::move(source);
  self->offer_h2_ = options.offer_h2;
  if (!options.client_ca_pem.empty()) {
    auto cas = read_certs(options.client_ca_pem);
    if (cas.empty()) {
      return std::unexpected("no valid certificates found in the client CA");
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (auto& ca : cas) {
      X509_STORE_add_cert(store, ca.get());
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_client_hello_cb(ctx, &ContextCallbacks::client_hello, self.get());
  SSL_CTX_set_alpn_select_cb(ctx, &ContextCallbacks::alpn_select, self.get());
  return std::shared_ptr<const ServerTlsContext>(std::move(self));
}

ServerTlsContext::~ServerTlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsConnection> ServerTlsContext::connection() const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  std::unique_ptr<TlsConnection> conn(new TlsConnection(ssl));
  conn->context_ = shared_from_this();
  SSL_set_app_data(ssl, conn.get());
  return conn;
}

TlsConnection::TlsConnection(SSL* ssl) : ssl_(ssl) {
  in_ = BIO_new(BIO_s_mem());
  out_bio_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // empty: "retry", not EOF
  BIO_set_mem_eof_return(out_bio_, -1);
  SSL_set_bio(ssl_, in_, out_bio_);
  SSL_set_accept_state(ssl_);
}

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

void TlsConnection::feed(const char* data, size_t n) {
  BIO_write(in_, data, static_cast<int>(n));
  starved_ = false;
  received_ = true;
}

void TlsConnection::drain_output() {
  size_t pending = BIO_ctrl_pending(out_bio_);
  if (pending == 0) {
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  size_t at = out_.size();
  out_.resize(at + pending);
  int n = BIO_read(out_bio_, out_.data() + at, static_cast<int>(pending));
  out_.resize(at + (n > 0 ? static_cast<size_t>(n) : 0));
}

void TlsConnection::consume_output(size_t n) {
  out_off_ += n;
  if (out_off_ >= out_.size()) {
    out_off_ = 0;
    out_.clear();
    if (out_.capacity() > 64 * 1024) {
      std::string().swap(out_);  // a burst's buffer is not kept by an idle connection
    }
  }
}

TlsConnection::Status TlsConnection::fail() {
  error_ = openssl_error();
  if (error_.empty()) {
    error_ = "TLS protocol error";
  }
  drain_output();  // the alert, if any
  return Status::kError;
}

TlsConnection::Status TlsConnection::read(char* buf, size_t cap, size_t& n) {
  n = 0;
  size_t got = 0;
  int r = SSL_read_ex(ssl_, buf, cap, &got);
  drain_output();  // handshake messages, session tickets, key updates
  if (r == 1) {
    n = got;
    return Status::kOk;
  }
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      starved_ = true;  // what is left in `in_` (if anything) is an incomplete record
      return Status::kWantRead;
    case SSL_ERROR_ZERO_RETURN:
      return Status::kClosed;
    default:
      return fail();
  }
}

TlsConnection::Status TlsConnection::write(const char* data, size_t n) {
  while (n > 0) {
    size_t done = 0;
    int r = SSL_write_ex(ssl_, data, n, &done);
    drain_output();
    if (r != 1) {
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ) {
        return Status::kWantRead;  // the handshake is not done yet
      }
      return fail();
    }
    data += done;
    n -= done;
  }
  return Status::kOk;
}

bool TlsConnection::has_buffered_input() const {
  return SSL_pending(ssl_) > 0 || (!starved_ && BIO_ctrl_pending(in_) > 0);
}

void TlsConnection::shutdown() {
  if (SSL_is_init_finished(ssl_)) {
    SSL_shutdown(ssl_);
    ERR_clear_error();
    drain_output();
  }
}

bool TlsConnection::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

std::string_view TlsConnection::alpn() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), len);
}

}  // namespace gyre::tls
