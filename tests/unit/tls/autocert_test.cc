// Autocert and the ACME helpers without a CA: the http-01 listener's answers (as Go's
// autocert.Manager.HTTPHandler(nil)), certificate selection, start-up errors, the RFC 8737
// challenge certificate. The issuance itself: autocert_pebble_test.cc.

#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "config/config.h"
#include "tls/acme_client.h"
#include "tls/acme_http_listener.h"
#include "tls/autocert.h"

namespace gyre::tls {
namespace {

namespace fs = std::filesystem;

AutocertOptions opts() {
  AutocertOptions o;
  o.hosts = {"Example.COM", "b.example.com."};
  o.directory_url = "https://127.0.0.1:1/dir";
  return o;
}

TEST(AutocertTest, Http01RedirectsOtherPathsToHttpsForGetAndHead) {
  boost::asio::io_context io;
  Autocert ac(io, opts());
  auto a = ac.http01("GET", "example.com:8080", "/x?y=<1>");
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(a.location, "https://example.com/x?y=<1>");
  EXPECT_EQ(a.body, "<a href=\"https://example.com/x?y=&lt;1&gt;\">Found</a>.\n\n");
  auto h = ac.http01("HEAD", "[::1]:80", "/");
  EXPECT_EQ(h.status, 302);
  EXPECT_EQ(h.location, "https://::1/");
  EXPECT_EQ(h.body, "");
  auto p = ac.http01("POST", "example.com", "/x");
  EXPECT_EQ(p.status, 400);
  EXPECT_EQ(p.body, "Use HTTPS\n");
}

TEST(AutocertTest, Http01RefusesHostsOutsideTheWhitelistAndUnknownTokens) {
  boost::asio::io_context io;
  Autocert ac(io, opts());
  auto f = ac.http01("GET", "evil.com", "/.well-known/acme-challenge/abc");
  EXPECT_EQ(f.status, 403);
  EXPECT_EQ(f.body, "acme/autocert: host \"evil.com\" not configured in HostWhitelist\n");
  auto n = ac.http01("GET", "EXAMPLE.com:80", "/.well-known/acme-challenge/abc");
  EXPECT_EQ(n.status, 404);
  EXPECT_EQ(n.body, "acme/autocert: certificate cache miss\n");
}

TEST(AutocertTest, CertificateIsNullBeforeIssuanceAndForUnknownHosts) {
  boost::asio::io_context io;
  auto o = opts();
  o.server_name = "example.com";
  Autocert ac(io, o);
  EXPECT_EQ(ac.certificate("example.com", false), nullptr);
  EXPECT_EQ(ac.certificate("", false), nullptr);
  EXPECT_EQ(ac.certificate("other.com", true), nullptr);
}

TEST(AutocertTest, StartRefusesAnEmptyWhitelistAndABrokenAccountKey) {
  boost::asio::io_context io;
  AutocertOptions none;
  Autocert empty(io, none);
  auto r = empty.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "tls_autocert_host_whitelist: no host to obtain a certificate for");

  fs::path dir = fs::temp_directory_path() / ("gyre-autocert-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "acme_account+key") << "not a key";
  auto o = opts();
  o.cache_dir = dir.string();
  Autocert broken(io, o);
  auto b = broken.start();
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error(), "tls_autocert_cache_dir: " + dir.string() +
                           "/acme_account+key is not a PEM private key");
  fs::remove_all(dir);
}

TEST(AutocertTest, CacheDirGetsA0600AccountKeyAndIgnoresAForeignCertificate) {
  boost::asio::io_context io;
  fs::path dir = fs::temp_directory_path() / ("gyre-autocert2-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A cached certificate for another name under this host's file: ignored, not served.
  auto other = make_tls_alpn01_certificate("other.com", "x.y");
  std::ofstream(dir / "example.com") << ec_key_to_pem(other->key.get())
                                     << certificate_to_pem(other->chain.front().get());
  auto o = opts();
  o.cache_dir = dir.string();
  Autocert ac(io, o);
  ASSERT_TRUE(ac.start().has_value());
  EXPECT_EQ(ac.certificate("example.com", false), nullptr);
  EXPECT_EQ(ac.stats().from_cache, 0u);
  EXPECT_EQ(fs::status(dir / "acme_account+key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ac.stop();
  io.poll();  // the renewal loop tries 127.0.0.1:1 and fails; stop ends it
  fs::remove_all(dir);
}

TEST(AutocertTest, TlsAlpn01CertificateCarriesTheCriticalAcmeIdentifier) {
  auto c = make_tls_alpn01_certificate("a.example.com", "token.thumb");
  ASSERT_NE(c, nullptr);
  X509* x = c->chain.front().get();
  EXPECT_EQ(X509_check_host(x, "a.example.com", 0, 0, nullptr), 1);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int idx = X509_get_ext_by_OBJ(x, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(idx, 0);
  X509_EXTENSION* ext = X509_get_ext(x, idx);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  // DER OCTET STRING (04 20) of SHA-256("token.thumb").
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>("token.thumb"), 11, md);
  std::string want = std::string("\x04\x20", 2) + std::string(reinterpret_cast<char*>(md), 32);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                        static_cast<size_t>(ASN1_STRING_length(v))),
            want);
  EXPECT_EQ(X509_check_private_key(x, c->key.get()), 1);
}

TEST(AutocertTest, PemHelpersRoundTripGoAutocertsLayout) {
  auto c = make_tls_alpn01_certificate("a.example.com", "k");
  std::string pem = ec_key_to_pem(c->key.get()) + certificate_to_pem(c->chain.front().get());
  EXPECT_TRUE(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
  auto key = key_from_pem(pem);
  auto certs = certificates_from_pem(pem);
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(X509_check_private_key(certs.front().get(), key.get()), 1);
}

}  // namespace
}  // namespace gyre::tls

namespace gyre::tls {
namespace {

TEST(AutocertTest, OptionsFollowTheTlsAutocertKeys) {
  config::Config c;
  c.tls_autocert_host_whitelist = {"A.example.com,b.example.com"};
  c.tls_autocert_cache_dir = "/var/lib/gyre/acme";
  c.tls_autocert_email = "ops@example.com";
  c.tls_autocert_server_name = "a.example.com";
  c.tls_autocert_http = true;
  c.tls_autocert_directory_ca = "/ca.pem";
  auto o = autocert_options(c);
  EXPECT_EQ(o.hosts, (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(o.cache_dir, "/var/lib/gyre/acme");
  EXPECT_EQ(o.email, "ops@example.com");
  EXPECT_EQ(o.server_name, "a.example.com");
  EXPECT_TRUE(o.http01);
  EXPECT_EQ(o.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(o.directory_ca, "/ca.pem");
  EXPECT_EQ(o.renew_before, std::chrono::hours(24 * 30));
}

}  // namespace
}  // namespace gyre::tls

namespace gyre::tls {
namespace {

TEST(AcmeClientTest, UnreachableDirectoryIsAOneLineError) {
  boost::asio::io_context io;
  AcmeClientOptions o;
  o.directory_url = "https://127.0.0.1:1/dir";
  AcmeClient client(io, o, generate_p256_key());
  std::optional<std::expected<IssuedCertificate, std::string>> result;
  boost::asio::co_spawn(io, client.obtain("a.example.com", ChallengeType::kTlsAlpn01, {}),
                        [&](std::exception_ptr, std::expected<IssuedCertificate, std::string> r) {
                          result = std::move(r);
                        });
  io.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error(), "GET https://127.0.0.1:1/dir: connect: Connection refused");
  EXPECT_EQ(client.requests(), 1u);
}

TEST(AcmeClientTest, AnAccountKeyThatIsNotP256IsRefused) {
  boost::asio::io_context io;
  AcmeClient client(io, AcmeClientOptions{}, EvpPkeyPtr(EVP_RSA_gen(2048)));
  std::optional<std::expected<IssuedCertificate, std::string>> result;
  boost::asio::co_spawn(io, client.obtain("a.example.com", ChallengeType::kHttp01, {}),
                        [&](std::exception_ptr, std::expected<IssuedCertificate, std::string> r) {
                          result = std::move(r);
                        });
  io.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error(), "the ACME account key is not a P-256 key");
  EXPECT_EQ(client.requests(), 0u);
}

}  // namespace
}  // namespace gyre::tls

namespace gyre::tls {
namespace {

namespace http = boost::beast::http;

// One request to the listener on 127.0.0.1:port over a fresh connection.
http::response<http::string_body> ask(uint16_t port, http::verb verb, const std::string& host,
                                      const std::string& target) {
  boost::asio::io_context io;
  boost::beast::tcp_stream s(io);
  s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, host);
  http::write(s, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  http::read(s, buf, parser);
  return parser.release();
}

TEST(AcmeHttpListenerTest, ServesTheHttp01AnswersOverHttp) {
  boost::asio::io_context io;
  Autocert ac(io, opts());
  AcmeHttpListener listener(io, ac);
  EXPECT_EQ(listener.listen("127.0.0.1:http").error(), "tls_autocert_http_addr 127.0.0.1:http: bad port");
  EXPECT_EQ(listener.listen("8080").error(), "tls_autocert_http_addr 8080: missing port");
  auto port = listener.listen("127.0.0.1:0");
  ASSERT_TRUE(port.has_value()) << port.error();
  auto guard = boost::asio::make_work_guard(io);
  std::thread t([&] { io.run(); });

  auto get = ask(*port, http::verb::get, "example.com:80", "/connection/websocket?x=1");
  EXPECT_EQ(get.result_int(), 302);
  EXPECT_EQ(get[http::field::location], "https://example.com/connection/websocket?x=1");
  auto head = ask(*port, http::verb::head, "example.com", "/");
  EXPECT_EQ(head.result_int(), 302);
  EXPECT_EQ(head[http::field::location], "https://example.com/");
  auto post = ask(*port, http::verb::post, "example.com", "/api");
  EXPECT_EQ(post.result_int(), 400);
  EXPECT_EQ(post.body(), "Use HTTPS\n");
  auto miss = ask(*port, http::verb::get, "example.com", "/.well-known/acme-challenge/tok");
  EXPECT_EQ(miss.result_int(), 404);
  auto other = ask(*port, http::verb::get, "evil.com", "/.well-known/acme-challenge/tok");
  EXPECT_EQ(other.result_int(), 403);

  listener.stop();
  guard.reset();
  io.stop();
  t.join();
}

}  // namespace
}  // namespace gyre::tls
