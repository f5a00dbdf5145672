#include "engine/redis/redis_tls.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace gyre::engine::redis {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

struct TlsContext::Impl {
  ssl::context ctx{ssl::context::tls_client};
};

TlsContext::TlsContext() : impl_(std::make_unique<Impl>()) {}
TlsContext::~TlsContext() = default;

namespace {

std::string openssl_error(const char* what) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return what;
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return std::string(what) + ": " + buf;
}

}  // namespace

std::expected<std::shared_ptr<const TlsContext>, std::string> TlsContext::create(
    const TlsSettings& settings) {
  std::shared_ptr<TlsContext> out(new TlsContext());
  out->settings_ = settings;
  SSL_CTX* ctx = out->impl_->ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return std::unexpected(openssl_error("minimum TLS version"));
  }
  boost::system::error_code ec;
  if (!settings.cert_pem.empty()) {
    out->impl_->ctx.use_certificate_chain(asio::buffer(settings.cert_pem), ec);
    if (ec) {
      return std::unexpected("client certificate: " + ec.message());
    }
    out->impl_->ctx.use_private_key(asio::buffer(settings.key_pem), ssl::context::pem, ec);
    if (ec) {
      return std::unexpected("client key: " + ec.message());
    }
  }
  if (settings.root_ca_pem.empty()) {
    out->impl_->ctx.set_default_verify_paths(ec);
    if (ec) {
      return std::unexpected("system CA store: " + ec.message());
    }
  } else {
    // Every certificate of the bundle (Go's AppendCertsFromPEM).
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    BIO* bio = BIO_new_mem_buf(settings.root_ca_pem.data(),
                               static_cast<int>(settings.root_ca_pem.size()));
    int added = 0;
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      if (X509_STORE_add_cert(store, x) == 1) {
        ++added;
      }
      X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (added == 0) {
      return std::unexpected(std::string("server CA: no valid certificates found"));
    }
  }
  return std::shared_ptr<const TlsContext>(std::move(out));
}

class TlsStreamImpl final : public TlsStream,
                            public std::enable_shared_from_this<TlsStreamImpl> {
 public:
  TlsStreamImpl(std::shared_ptr<const TlsContext> ctx, asio::ip::tcp::socket& socket,
                const std::string& host)
      : ctx_(std::move(ctx)), stream_(socket, ctx_->impl_->ctx) {
    const TlsSettings& s = ctx_->settings();
    const std::string& name = s.server_name.empty() ? host : s.server_name;
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    const bool is_ip = !ec;
    SSL* ssl = stream_.native_handle();
    // SNI carries host names only (RFC 6066), as Go's crypto/tls.
    if (!is_ip && !name.empty()) {
      SSL_set_tlsext_host_name(ssl, name.c_str());
    }
    if (s.insecure_skip_verify) {
      stream_.set_verify_mode(ssl::verify_none);
    } else {
      // OpenSSL's own name check (IP SANs for an address, DNS names otherwise): a mismatch is
      // reported as such ("hostname mismatch", "IP address mismatch") by the verify result.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      }
      stream_.set_verify_mode(ssl::verify_peer);
    }
  }

  void handshake(std::function<void(std::string)> done) override {
    auto self = shared_from_this();
    stream_.async_handshake(ssl::stream_base::client, [this, self, done = std::move(done)](
                                                          boost::system::error_code ec) {
      if (!ec) {
        done("");
        return;
      }
      // A failed certificate check names its reason ("unable to get local issuer
      // certificate", "Hostname mismatch", ...); anything else is OpenSSL's error text.
      std::string why = ec.message();
      long verify = SSL_get_verify_result(stream_.native_handle());
      if (verify != X509_V_OK) {
        why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
      }
      ERR_clear_error();
      done(why);
    });
  }

  void read_some(asio::mutable_buffer buf, IoHandler done) override {
    stream_.async_read_some(buf, [self = shared_from_this(), done = std::move(done)](
                                     boost::system::error_code ec, std::size_t n) {
      done(ec, n);
    });
  }

  void write(asio::const_buffer buf, IoHandler done) override {
    asio::async_write(stream_, buf, [self = shared_from_this(), done = std::move(done)](
                                        boost::system::error_code ec, std::size_t n) {
      done(ec, n);
    });
  }

 private:
  std::shared_ptr<const TlsContext> ctx_;
  ssl::stream<asio::ip::tcp::socket&> stream_;
};

std::shared_ptr<TlsStream> TlsStream::create(std::shared_ptr<const TlsContext> ctx,
                                             asio::ip::tcp::socket& socket,
                                             const std::string& host) {
  return std::make_shared<TlsStreamImpl>(std::move(ctx), socket, host);
}

}  // namespace gyre::engine::redis
