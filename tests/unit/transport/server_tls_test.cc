// tls::ServerTlsContext and tls::TlsConnection driven in memory against an OpenSSL client: the
// per-handshake certificate (fixed or from a CertificateSource, with the SNI and the ACME
// tls-alpn-01 flag), ALPN selection, mutual TLS, and data both ways.
#include "tls/server_tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "self_signed_cert.h"

namespace gyre::tls {
namespace {

using test::make_cert;
using test::Pem;

std::string subject_cn(X509* x) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
  return buf;
}

// An OpenSSL client over memory BIOs, pumped against a server TlsConnection.
class Client {
 public:
  Client(std::string_view sni, std::vector<std::string> alpn, const Pem* cert = nullptr) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (cert != nullptr) {
      auto ck = parse_certified_key(cert->cert, cert->key).value();
      SSL_CTX_use_certificate(ctx_, ck->chain[0].get());
      SSL_CTX_use_PrivateKey(ctx_, ck->key.get());
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    if (!sni.empty()) {
      SSL_set_tlsext_host_name(ssl_, std::string(sni).c_str());
    }
    std::string wire;
    for (const auto& p : alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    if (!wire.empty()) {
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Runs the handshake against `server`; true when both sides finished it.
  bool handshake(TlsConnection& server) {
    for (int i = 0; i < 20; ++i) {
      int r = SSL_do_handshake(ssl_);
      int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);  // before the BIOs are touched
      pump(server);
      char b[64];
      size_t n = 0;
      auto st = server.read(b, sizeof(b), n);  // drives the server's handshake
      if (st == TlsConnection::Status::kError) {
        last_error = server.error();
        pump(server);
        SSL_do_handshake(ssl_);
        return false;
      }
      pump(server);
      if (r == 1 && server.handshake_done()) {
        return true;
      }
      if (r != 1 && err != SSL_ERROR_WANT_READ) {
        last_error = "client: " + std::to_string(err);
        return false;
      }
    }
    return false;
  }
  // Moves bytes both ways.
  void pump(TlsConnection& server) {
    char buf[16384];
    int n;
    while ((n = BIO_read(out_, buf, sizeof(buf))) > 0) {
      server.feed(buf, static_cast<size_t>(n));
    }
    auto out = server.output();
    if (!out.empty()) {
      BIO_write(in_, out.data(), static_cast<int>(out.size()));
      server.consume_output(out.size());
    }
  }
  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_, &p, &len);
    return p == nullptr ? "" : std::string(reinterpret_cast<const char*>(p), len);
  }
  std::string peer_cn() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    std::string cn = x != nullptr ? subject_cn(x) : "";
    X509_free(x);
    return cn;
  }
  SSL* ssl() { return ssl_; }
  std::string last_error;

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

class RecordingSource : public CertificateSource {
 public:
  std::shared_ptr<const CertifiedKey> certificate(std::string_view server_name,
                                                  bool acme_tls_alpn) override {
    calls.emplace_back(std::string(server_name), acme_tls_alpn);
    if (server_name == "unknown.example") {
      return nullptr;
    }
    return acme_tls_alpn ? challenge : normal;
  }
  std::vector<std::pair<std::string, bool>> calls;
  std::shared_ptr<const CertifiedKey> normal;
  std::shared_ptr<const CertifiedKey> challenge;
};

class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = make_cert("a.example");
    b_ = make_cert("b.example");
  }
  std::shared_ptr<const ServerTlsContext> fixed(bool h2 = false, std::string client_ca = "") {
    ServerTlsOptions o;
    o.certificate = parse_certified_key(a_.cert, a_.key).value();
    o.offer_h2 = h2;
    o.client_ca_pem = std::move(client_ca);
    return ServerTlsContext::create(std::move(o)).value();
  }
  Pem a_, b_;
};

TEST_F(ServerTlsTest, FixedCertificateAndHttp11Alpn) {
  auto ctx = fixed();
  auto server = ctx->connection();
  Client c("a.example", {"h2", "http/1.1"});
  ASSERT_TRUE(c.handshake(*server)) << c.last_error;
  EXPECT_EQ(c.peer_cn(), "a.example");
  EXPECT_EQ(c.alpn(), "http/1.1");  // h2 is not offered unless enabled
  EXPECT_EQ(server->alpn(), "http/1.1");
  // Data both ways.
  ASSERT_EQ(SSL_write(c.ssl(), "ping", 4), 4);
  c.pump(*server);
  char buf[16];
  size_t n = 0;
  ASSERT_EQ(server->read(buf, sizeof(buf), n), TlsConnection::Status::kOk);
  EXPECT_EQ(std::string(buf, n), "ping");
  ASSERT_EQ(server->write("pong", 4), TlsConnection::Status::kOk);
  c.pump(*server);
  int r = SSL_read(c.ssl(), buf, sizeof(buf));
  ASSERT_EQ(r, 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
  // close_notify from the client reads as kClosed.
  SSL_shutdown(c.ssl());
  c.pump(*server);
  EXPECT_EQ(server->read(buf, sizeof(buf), n), TlsConnection::Status::kClosed);
}

TEST_F(ServerTlsTest, H2IsSelectedWhenEnabledAndOffered) {
  auto ctx = fixed(true);
  auto server = ctx->connection();
  Client c("", {"h2", "http/1.1"});
  ASSERT_TRUE(c.handshake(*server));
  EXPECT_EQ(c.alpn(), "h2");
  auto s2 = ctx->connection();
  Client old("", {});
  ASSERT_TRUE(old.handshake(*s2));
  EXPECT_EQ(old.alpn(), "");
}

TEST_F(ServerTlsTest, CertificateSourceIsAskedPerHandshakeWithSniAndAcmeFlag) {
  auto source = std::make_shared<RecordingSource>();
  source->normal = parse_certified_key(a_.cert, a_.key).value();
  source->challenge = parse_certified_key(b_.cert, b_.key).value();
  auto ctx = ServerTlsContext::create(ServerTlsOptions{}, source).value();

  auto s1 = ctx->connection();
  Client normal("a.example", {"http/1.1"});
  ASSERT_TRUE(normal.handshake(*s1));
  EXPECT_EQ(normal.peer_cn(), "a.example");
  EXPECT_FALSE(s1->acme_validation());

  auto s2 = ctx->connection();
  Client acme("b.example", {"acme-tls/1"});
  ASSERT_TRUE(acme.handshake(*s2));
  EXPECT_EQ(acme.peer_cn(), "b.example");
  EXPECT_EQ(acme.alpn(), "acme-tls/1");
  EXPECT_TRUE(s2->acme_validation());

  auto s3 = ctx->connection();
  Client unknown("unknown.example", {"http/1.1"});
  EXPECT_FALSE(unknown.handshake(*s3));  // no certificate: the handshake fails

  std::vector<std::pair<std::string, bool>> expected = {
      {"a.example", false}, {"b.example", true}, {"unknown.example", false}};
  EXPECT_EQ(source->calls, expected);
}

TEST_F(ServerTlsTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  auto ctx = fixed(false, b_.cert);  // b is the client CA (self-signed)
  auto s1 = ctx->connection();
  Client none("", {});
  EXPECT_FALSE(none.handshake(*s1) && s1->handshake_done());
  auto s2 = ctx->connection();
  Client foreign("", {}, &a_);
  EXPECT_FALSE(foreign.handshake(*s2) && s2->handshake_done());
  auto s3 = ctx->connection();
  Client good("", {}, &b_);
  EXPECT_TRUE(good.handshake(*s3));
}

TEST_F(ServerTlsTest, ParseErrors) {
  EXPECT_EQ(parse_certified_key("", a_.key).error(), "no certificate found in PEM data");
  EXPECT_EQ(parse_certified_key(a_.cert, "").error(), "no private key found in PEM data");
  EXPECT_EQ(parse_certified_key(a_.cert, b_.key).error(), "private key does not match public key");
  EXPECT_EQ(check_ca_bundle("junk").error(), "no valid certificates found");
  EXPECT_TRUE(check_ca_bundle(a_.cert + b_.cert).has_value());
  EXPECT_EQ(ServerTlsContext::create(ServerTlsOptions{}).error(), "no certificate");
}

TEST_F(ServerTlsTest, GarbageIsAnErrorWithAnAlert) {
  auto ctx = fixed();
  auto server = ctx->connection();
  const char junk[] = "\x01\x03\x01\x00\x05garbage";
  server->feed(junk, sizeof(junk) - 1);
  char buf[16];
  size_t n = 0;
  EXPECT_EQ(server->read(buf, sizeof(buf), n), TlsConnection::Status::kError);
  EXPECT_FALSE(server->error().empty());
  EXPECT_TRUE(server->has_output());  // the alert
}

}  // namespace
}  // namespace gyre::tls
