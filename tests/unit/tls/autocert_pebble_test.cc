// Autocert against pebble, Let's Encrypt's ACME test server (scripts/build-pebble.sh builds it
// into build/peers/; GYRE_PEBBLE_DIR overrides). pebble-challtestsrv is pebble's DNS: every
// name resolves to 127.0.0.1, so pebble validates http-01 on this process's AcmeHttpListener
// and tls-alpn-01 on a test-only OpenSSL acceptor that asks the Autocert for its certificate,
// as the TLS listener does. Both pebble processes run on free loopback ports for the suite.
// Without pebble (no Go / module proxy) the suite skips and says why.

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "tls/acme_client.h"
#include "tls/acme_http_listener.h"
#include "tls/autocert.h"

extern char** environ;

namespace gyre::tls {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

#ifndef GYRE_SOURCE_DIR
#define GYRE_SOURCE_DIR "."
#endif

fs::path pebble_dir() {
  const char* env = std::getenv("GYRE_PEBBLE_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(GYRE_SOURCE_DIR) / "build/peers";
}

uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool port_open(uint16_t port) {
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

// A child process with its output in `log`; killed (SIGTERM, then reaped) by the destructor.
class Child {
 public:
  Child(std::vector<std::string> args, const std::vector<std::string>& extra_env,
        const fs::path& log) {
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_store(extra_env);
    for (char** e = environ; *e != nullptr; ++e) {
      env_store.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_store) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// GET over HTTPS, trusting `ca_file` (pebble's management API: /roots/0).
std::string https_get(uint16_t port, const std::string& target, const std::string& ca_file) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> s(io, ctx);
  beast::get_lowest_layer(s).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.handshake(asio::ssl::stream_base::client);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res.body();
}

// The TLS side of tls-alpn-01 as the TLS listener does it: the client hello callback asks the
// CertificateSource (SNI + whether the client offered only "acme-tls/1"), ALPN selects
// "acme-tls/1", and the connection closes after the handshake.
class TestTlsAcceptor {
 public:
  TestTlsAcceptor(asio::io_context& io, CertificateSource& source, uint16_t port)
      : io_(io), ctx_(asio::ssl::context::tls_server), acceptor_(io) {
    SSL_CTX_set_client_hello_cb(ctx_.native_handle(), &TestTlsAcceptor::on_hello, &source);
    SSL_CTX_set_alpn_select_cb(ctx_.native_handle(), &TestTlsAcceptor::on_alpn, nullptr);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    asio::co_spawn(io_, accept(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void close() {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
  }
  int handshakes() const { return handshakes_.load(); }

 private:
  static int on_hello(SSL* ssl, int* alert, void* arg) {
    auto* source = static_cast<CertificateSource*>(arg);
    const unsigned char* p = nullptr;
    size_t len = 0;
    std::string sni;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) == 1 && len > 5 &&
        p[2] == 0) {
      size_t n = (static_cast<size_t>(p[3]) << 8) | p[4];
      if (5 + n <= len) {
        sni.assign(reinterpret_cast<const char*>(p + 5), n);
      }
    }
    bool acme = false;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                  &len) == 1 &&
        len > 2) {
      std::string_view list(reinterpret_cast<const char*>(p + 2), len - 2);
      acme = list == std::string_view("\x0a" "acme-tls/1", 11);
    }
    auto ck = source->certificate(sni, acme);
    if (!ck) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_use_certificate(ssl, ck->chain.front().get());
    SSL_use_PrivateKey(ssl, ck->key.get());
    for (size_t i = 1; i < ck->chain.size(); ++i) {
      SSL_add1_chain_cert(ssl, ck->chain[i].get());
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  static int on_alpn(SSL*, const unsigned char** out, unsigned char* outlen,
                     const unsigned char* in, unsigned int inlen, void*) {
    static const unsigned char kAcme[] = "\x0a" "acme-tls/1";
    unsigned char* sel = nullptr;
    if (SSL_select_next_proto(&sel, outlen, kAcme, sizeof kAcme - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
      *out = sel;
      return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
  }
  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      asio::co_spawn(io_, handshake(std::move(sock)), asio::detached);
    }
  }
  asio::awaitable<void> handshake(tcp::socket sock) {
    asio::ssl::stream<tcp::socket> stream(std::move(sock), ctx_);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                 asio::as_tuple(asio::use_awaitable));
    if (!hec) {
      ++handshakes_;
    }
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  }

  asio::io_context& io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::atomic<int> handshakes_{0};
};

// True when `ck`'s chain verifies to `root_pem` for `host` now.
bool verifies(const CertifiedKey& ck, const std::string& root_pem, const std::string& host) {
  auto roots = certificates_from_pem(root_pem);
  if (roots.empty() || ck.chain.empty()) {
    return false;
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, roots.front().get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < ck.chain.size(); ++i) {
    sk_X509_push(untrusted, ck.chain[i].get());
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, ck.chain.front().get(), untrusted);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host.c_str(), host.size());
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return ok && X509_check_private_key(ck.chain.front().get(), ck.key.get()) == 1;
}

class AutocertPebbleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::path dir = pebble_dir();
    if (!fs::exists(dir / "pebble") || !fs::exists(dir / "pebble-challtestsrv") ||
        !fs::exists(dir / "pebble-certs/cert.pem")) {
      skip_reason_ = "pebble not built in " + dir.string() + " (scripts/build-pebble.sh)";
      return;
    }
    tmp_ = fs::temp_directory_path() /
           ("gyre-acme-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    fs::create_directories(tmp_);
    http_port_ = free_port();
    dns_port_ = free_port();
    acme_port_ = free_port();
    mgmt_port_ = free_port();
    uint16_t chall_mgmt = free_port();
    ca_file_ = (dir / "pebble-certs/pebble.minica.pem").string();
    tls_port_ = free_port();
    std::ofstream(tmp_ / "pebble.json")
        << R"({"pebble":{"listenAddress":"127.0.0.1:)" << acme_port_
        << R"(","managementListenAddress":"127.0.0.1:)" << mgmt_port_ << R"(","certificate":")"
        << (dir / "pebble-certs/cert.pem").string() << R"(","privateKey":")"
        << (dir / "pebble-certs/key.pem").string() << R"(","httpPort":)" << http_port_
        << R"(,"tlsPort":)" << tls_port_
        << R"(,"ocspResponderURL":"","externalAccountBindingRequired":false,)"
        << R"("retryAfter":{"authz":1,"order":1},"keyAlgorithm":"ecdsa",)"
        << R"("profiles":{"default":{"description":"90 days","validityPeriod":7776000}}}})";
    dns_ = new Child({(dir / "pebble-challtestsrv").string(), "-defaultIPv4", "127.0.0.1",
                      "-defaultIPv6", "", "-dnsserver", "127.0.0.1:" + std::to_string(dns_port_),
                      "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management",
                      "127.0.0.1:" + std::to_string(chall_mgmt)},
                     {}, tmp_ / "challtestsrv.log");
    // No random validation sleeps, no rejected nonces, no authorization reuse: every order
    // validates its challenge, deterministically.
    pebble_ = new Child({(dir / "pebble").string(), "-config", (tmp_ / "pebble.json").string(),
                         "-dnsserver", "127.0.0.1:" + std::to_string(dns_port_)},
                        {"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
                        tmp_ / "pebble.log");
    // Readiness, not a timing assertion: wait (up to 60 s) for both to listen.
    for (int i = 0; i < 1200 && !(port_open(acme_port_) && port_open(mgmt_port_) &&
                                   port_open(chall_mgmt));
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!port_open(acme_port_) || !port_open(mgmt_port_)) {
      skip_reason_.clear();
      start_error_ = "pebble did not start: " + read_text(tmp_ / "pebble.log");
      return;
    }
    root_pem_ = https_get(mgmt_port_, "/roots/0", ca_file_);
  }

  static void TearDownTestSuite() {
    delete pebble_;
    delete dns_;
    pebble_ = nullptr;
    dns_ = nullptr;
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  void SetUp() override {
    if (!skip_reason_.empty()) {
      GTEST_SKIP() << skip_reason_;
    }
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ASSERT_NE(root_pem_.find("BEGIN CERTIFICATE"), std::string::npos) << root_pem_;
  }

  AutocertOptions options(const std::string& host, bool http01, const std::string& cache) {
    AutocertOptions o;
    o.hosts = {host};
    o.cache_dir = cache.empty() ? "" : (tmp_ / cache).string();
    o.email = "ops@gyre.test";
    o.http01 = http01;
    o.directory_url = "https://127.0.0.1:" + std::to_string(acme_port_) + "/dir";
    o.directory_ca = ca_file_;
    o.retry_min = std::chrono::seconds(1);
    o.retry_max = std::chrono::seconds(2);
    o.request_timeout = std::chrono::milliseconds(20000);
    return o;
  }

  // Runs `io` on a thread until the Autocert reports an issuance (or 60 s pass: a failure,
  // not a latency threshold). Returns whether it issued.
  static bool run_until_issued(asio::io_context& io, Autocert& ac) {
    std::promise<std::string> issued;
    auto f = issued.get_future();
    std::atomic<bool> once{false};
    ac.on_issued([&](const std::string& host) {
      if (!once.exchange(true)) {
        issued.set_value(host);
      }
    });
    auto guard = asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    bool ok = f.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    ac.stop();
    guard.reset();
    io.stop();
    t.join();
    ac.on_issued(nullptr);
    return ok;
  }

  static inline std::string skip_reason_;
  static inline std::string start_error_;
  static inline fs::path tmp_;
  static inline uint16_t http_port_ = 0, tls_port_ = 0, dns_port_ = 0, acme_port_ = 0,
                         mgmt_port_ = 0;
  static inline std::string ca_file_;
  static inline std::string root_pem_;
  static inline Child* dns_ = nullptr;
  static inline Child* pebble_ = nullptr;
};

TEST_F(AutocertPebbleTest, Http01IssuesAChainThatVerifiesToPebbleRootAndCachesIt) {
  asio::io_context io;
  const std::string host = "http01.gyre.test";
  Autocert ac(io, options(host, true, "cache-http"));
  AcmeHttpListener listener(io, ac);
  auto port = listener.listen("127.0.0.1:" + std::to_string(http_port_));
  ASSERT_TRUE(port.has_value()) << port.error();
  ASSERT_TRUE(ac.start().has_value());
  EXPECT_EQ(ac.certificate(host, false), nullptr);  // nothing before issuance
  ASSERT_TRUE(run_until_issued(io, ac)) << read_text(tmp_ / "pebble.log");
  listener.stop();

  auto cert = ac.certificate("HTTP01.gyre.test.", false);  // SNI case and trailing dot
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(verifies(*cert, root_pem_, host));
  EXPECT_EQ(ac.certificate("other.gyre.test", false), nullptr);
  EXPECT_EQ(ac.certificate("", false), nullptr);  // no server_name fallback configured
  auto st = ac.stats();
  EXPECT_EQ(st.issued, 1u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_EQ(st.from_cache, 0u);
  EXPECT_GT(st.acme_requests, 5u);

  // Cache: Go autocert's layout, 0600 files in a 0700 directory.
  fs::path cache = tmp_ / "cache-http";
  struct stat sb {};
  ASSERT_EQ(::stat((cache / host).c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((cache / "acme_account+key").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(cache.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0700u);
  std::string pem = read_text(cache / host);
  EXPECT_TRUE(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n")) << pem.substr(0, 40);
  EXPECT_EQ(certificates_from_pem(pem).size(), cert->chain.size());
}

TEST_F(AutocertPebbleTest, CachedCertificateIsServedAfterRestartWithoutAnAcmeRequest) {
  // Relies on the previous test's cache dir; runs alone too (it then issues first).
  const std::string host = "http01.gyre.test";
  fs::path cache = tmp_ / "cache-http";
  if (!fs::exists(cache / host)) {
    asio::io_context io;
    Autocert ac(io, options(host, true, "cache-http"));
    AcmeHttpListener listener(io, ac);
    ASSERT_TRUE(listener.listen("127.0.0.1:" + std::to_string(http_port_)).has_value());
    ASSERT_TRUE(ac.start().has_value());
    ASSERT_TRUE(run_until_issued(io, ac));
    listener.stop();
  }
  std::string before = read_text(cache / host);
  asio::io_context io;
  auto o = options(host, true, "cache-http");
  o.server_name = host;  // tls_autocert_server_name: the certificate for clients without SNI
  Autocert ac(io, o);
  ASSERT_TRUE(ac.start().has_value());
  // From memory at once: start() read the cache.
  auto cert = ac.certificate("", false);
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(verifies(*cert, root_pem_, host));
  // Let the renewal loop run everything it has ready: it finds the certificate fresh and
  // sleeps without a request.
  io.poll();
  auto st = ac.stats();
  EXPECT_EQ(st.from_cache, 1u);
  EXPECT_EQ(st.acme_requests, 0u);
  EXPECT_EQ(st.issued, 0u);
  EXPECT_EQ(read_text(cache / host), before);
}

TEST_F(AutocertPebbleTest, TlsAlpn01IssuesThroughTheAcceptorsCertificateSource) {
  asio::io_context io;
  const std::string host = "alpn.gyre.test";
  Autocert ac(io, options(host, false, "cache-alpn"));
  // The acceptor sits on pebble's tlsPort.
  TestTlsAcceptor tls(io, ac, tls_port_);
  ASSERT_TRUE(ac.start().has_value());
  ASSERT_TRUE(run_until_issued(io, ac)) << read_text(tmp_ / "pebble.log");
  tls.close();
  EXPECT_GE(tls.handshakes(), 1);  // pebble's validation handshake(s)
  auto cert = ac.certificate(host, false);
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(verifies(*cert, root_pem_, host));
  EXPECT_EQ(ac.certificate(host, true), nullptr);  // the challenge certificate is dropped
  EXPECT_EQ(ac.stats().issued, 1u);
}

TEST_F(AutocertPebbleTest, CachedCertificateWithin30DaysOfExpiryIsRenewed) {
  const std::string host = "renew.gyre.test";
  fs::path cache = tmp_ / "cache-renew";
  fs::create_directories(cache);
  // A cached certificate valid for 10 more days (self-signed: served, but due for renewal).
  auto key = generate_p256_key();
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10 * 24 * 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  X509_set_pubkey(x.get(), key.get());
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, ("DNS:" + host).c_str());
  X509_add_ext(x.get(), san, -1);
  X509_EXTENSION_free(san);
  ASSERT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  const int64_t old_not_after = not_after(x.get());
  std::ofstream(cache / host) << ec_key_to_pem(key.get()) << certificate_to_pem(x.get());

  asio::io_context io;
  Autocert ac(io, options(host, true, "cache-renew"));
  AcmeHttpListener listener(io, ac);
  ASSERT_TRUE(listener.listen("127.0.0.1:" + std::to_string(http_port_)).has_value());
  ASSERT_TRUE(ac.start().has_value());
  auto old_cert = ac.certificate(host, false);
  ASSERT_NE(old_cert, nullptr);  // served while it renews
  EXPECT_EQ(not_after(old_cert->chain.front().get()), old_not_after);
  EXPECT_EQ(ac.stats().from_cache, 1u);
  ASSERT_TRUE(run_until_issued(io, ac)) << read_text(tmp_ / "pebble.log");
  listener.stop();
  auto fresh = ac.certificate(host, false);
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(verifies(*fresh, root_pem_, host));
  EXPECT_GT(not_after(fresh->chain.front().get()), old_not_after + 60 * 24 * 3600);
  auto cached = certificates_from_pem(read_text(cache / host));
  ASSERT_FALSE(cached.empty());
  EXPECT_EQ(X509_cmp(cached.front().get(), fresh->chain.front().get()), 0);
}

TEST_F(AutocertPebbleTest, FailedValidationIsReportedWithTheCasProblem) {
  // http-01 with nobody answering on pebble's httpPort: the validation fails and obtain()
  // returns pebble's reason; the published answer is withdrawn.
  asio::io_context io;
  AcmeClientOptions o;
  o.directory_url = "https://127.0.0.1:" + std::to_string(acme_port_) + "/dir";
  o.directory_ca = ca_file_;
  AcmeClient client(io, o, generate_p256_key());
  int puts = 0, drops = 0;
  ChallengeHooks hooks;
  hooks.put_http01 = [&](const std::string&, const std::string&) { ++puts; };
  hooks.drop_http01 = [&](const std::string&) { ++drops; };
  std::optional<std::expected<IssuedCertificate, std::string>> result;
  asio::co_spawn(io, client.obtain("nobody.gyre.test", ChallengeType::kHttp01, hooks),
                 [&](std::exception_ptr, std::expected<IssuedCertificate, std::string> r) {
                   result = std::move(r);
                 });
  io.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->has_value());
  EXPECT_TRUE(result->error().starts_with(
      "ACME http-01 validation of nobody.gyre.test failed: invalid: "
      "urn:ietf:params:acme:error:connection: "))
      << result->error();
  EXPECT_EQ(puts, 1);
  EXPECT_EQ(drops, 1);
}

}  // namespace
}  // namespace gyre::tls
