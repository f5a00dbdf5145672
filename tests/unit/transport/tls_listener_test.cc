#include "transport/tls_listener.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/base64.h"
#include "self_signed_cert.h"

namespace gyre::transport {
namespace {

using test::make_cert;
using test::Pem;

class TlsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gyre-tls-unit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    a_ = make_cert("a");
    b_ = make_cert("b");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  config::Config tls_pem() {
    config::Config c;
    c.tls = true;
    c.tls_cert_pem = a_.cert;
    c.tls_key_pem = a_.key;
    return c;
  }
  std::filesystem::path dir_;
  Pem a_, b_;
};

TEST_F(TlsListenerTest, ResolvePemTakesPemBase64OrAFile) {
  EXPECT_EQ(resolve_pem(a_.cert).value(), a_.cert);
  EXPECT_EQ(resolve_pem(base64::encode_std(a_.cert)).value(), a_.cert);
  EXPECT_EQ(resolve_pem(write("c.pem", a_.cert)).value(), a_.cert);
  EXPECT_EQ(resolve_pem("no such thing").error(),
            "neither PEM, nor base64 of PEM, nor an existing file");
  auto f = write("x.txt", "plain text");
  EXPECT_EQ(resolve_pem(f).error(), "file " + f + " holds no PEM data");
}

TEST_F(TlsListenerTest, NoTlsMeansPlainListeners) {
  config::Config c;
  auto r = make_listener_tls(c, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->external, nullptr);
  EXPECT_EQ(r->internal, nullptr);
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(TlsListenerTest, TlsCoversTheInternalPortUnlessTlsExternal) {
  auto c = tls_pem();
  auto one = make_listener_tls(c, false);
  ASSERT_TRUE(one) << one.error();
  EXPECT_NE(one->external, nullptr);
  EXPECT_EQ(one->internal, nullptr);  // one port: no internal listener
  c.internal_port = "9001";
  auto split = make_listener_tls(c, false);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->internal, split->external);
  c.tls_external = true;
  auto ext = make_listener_tls(c, false);
  ASSERT_TRUE(ext);
  EXPECT_NE(ext->external, nullptr);
  EXPECT_EQ(ext->internal, nullptr);
}

TEST_F(TlsListenerTest, InternalTlsHasItsOwnContext) {
  auto c = tls_pem();
  c.tls_external = true;
  c.internal_port = "9001";
  c.internal_tls = true;
  c.internal_tls_cert_pem = write("b.pem", b_.cert);
  c.internal_tls_key_pem = base64::encode_std(b_.key);
  auto r = make_listener_tls(c, false);
  ASSERT_TRUE(r) << r.error();
  EXPECT_NE(r->internal, nullptr);
  EXPECT_NE(r->internal, r->external);
  c.internal_port = "";
  auto one = make_listener_tls(c, false);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->warnings,
            std::vector<std::string>{"http_server.internal_tls has no effect without a separate "
                                     "internal_port (the one port uses http_server.tls)"});
}

TEST_F(TlsListenerTest, FilesWinOverPemAsInCentrifugo) {
  auto c = tls_pem();
  c.tls_cert = write("b.pem", b_.cert);
  c.tls_key = write("a.key", a_.key);  // a mismatch, and files are read first
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls_key\": parse certificate/key pair for tls_cert/tls_key: private "
            "key does not match public key");
}

TEST_F(TlsListenerTest, ErrorsNameTheKey) {
  config::Config c;
  c.tls = true;
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls\": TLS needs a certificate and its key: set tls_cert and tls_key, "
            "or tls_cert_pem and tls_key_pem");
  c.tls_cert = (dir_ / "missing.pem").string();
  c.tls_key = write("a.key", a_.key);
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls_cert\": read TLS certificate: open " + c.tls_cert +
                ": No such file or directory");
  c = tls_pem();
  c.tls_key_pem = "garbage";
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls_key_pem\": neither PEM, nor base64 of PEM, nor an existing file");
  c = tls_pem();
  c.tls_client_ca = write("ca.txt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls_client_ca\": parse client CA certificate: no valid certificates "
            "found");
  c = tls_pem();
  c.tls_root_ca = (dir_ / "none.pem").string();
  EXPECT_EQ(make_listener_tls(c, false).error(),
            "config: key \"tls_root_ca\": read the root CA certificate: open " + c.tls_root_ca +
                ": No such file or directory");
}

TEST_F(TlsListenerTest, ServerNameAndInsecureSkipVerifyAreWarnedAboutNotIgnoredSilently) {
  auto c = tls_pem();
  c.tls_server_name = "example.com";
  c.tls_insecure_skip_verify = true;
  c.tls_root_ca_pem = b_.cert;  // valid: accepted, no effect on a server
  c.tls_client_ca_pem = b_.cert;
  auto r = make_listener_tls(c, true);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_EQ(r->warnings[0],
            "tls_server_name has no effect on the HTTP server (as in Centrifugo: it names the "
            "server a client expects)");
  EXPECT_EQ(r->warnings[1],
            "tls_insecure_skip_verify has no effect on the HTTP server (as in Centrifugo: it "
            "skips a client's check of the server)");
}

}  // namespace
}  // namespace gyre::transport
