#include "tls/acme_client.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/base64.h"
#include "core/json_escape.h"

namespace gyre::tls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using std::expected;
using std::unexpected;

struct AcmeClient::Reply {
  int status = 0;
  std::string body;
  std::string location;
  std::string nonce;
  std::string retry_after;
  std::string content_type;
};

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr uint64_t kReplyLimit = 1024 * 1024;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string sha256(std::string_view in) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string bn_32(const BIGNUM* bn) {
  std::string out(32, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
  return out;
}

// The account key's JWK with the members in RFC 7638 order (crv, kty, x, y): the same text
// serves the JWS header and the thumbprint.
std::string ec_jwk(EVP_PKEY* key) {
  char group[64] = {0};
  size_t group_len = 0;
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_len) != 1 ||
      std::string_view(group, group_len) != SN_X9_62_prime256v1) {
    return {};  // ES256 needs P-256
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  std::string out;
  if (x != nullptr && y != nullptr) {
    out = R"({"crv":"P-256","kty":"EC","x":")" + base64::encode_url(bn_32(x)) + R"(","y":")" +
          base64::encode_url(bn_32(y)) + "\"}";
  }
  BN_free(x);
  BN_free(y);
  return out;
}

// ES256 signature (RFC 7518 §3.4: r || s, 32 bytes each). Empty on failure.
std::string es256_sign(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string der(128, '\0');
  size_t len = der.size();
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    return {};
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  if (sig == nullptr) {
    return {};
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out = bn_32(r) + bn_32(s);
  ECDSA_SIG_free(sig);
  return out;
}

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string host_header;
};

std::optional<Url> split_url(std::string_view url) {
  Url u;
  if (url.starts_with("https://")) {
    u.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  u.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port = u.tls ? "443" : "80";
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  u.host = std::string(host);
  u.port = std::string(port);
  return u;
}

template <class Stream>
awaitable<expected<AcmeClient::Reply, std::string>> exchange(Stream& stream,
                                                             http::request<http::string_body>& req) {
  auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
  if (wec) {
    co_return unexpected("write: " + wec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kReplyLimit);
  if (req.method() == http::verb::head) {
    parser.skip(true);
  }
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
  if (rec) {
    co_return unexpected("read: " + rec.message());
  }
  auto& res = parser.get();
  AcmeClient::Reply r;
  r.status = static_cast<int>(res.result_int());
  r.body = std::move(res.body());
  r.location = std::string(res[http::field::location]);
  r.nonce = std::string(res["Replay-Nonce"]);
  r.retry_after = std::string(res[http::field::retry_after]);
  r.content_type = std::string(res[http::field::content_type]);
  co_return r;
}

// A parsed JSON reply. simdjson's DOM keeps pointers into its parser: the parser lives here.
struct Json {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool parse(const std::string& text) {
    return parser.parse(simdjson::padded_string(text)).get(root) == simdjson::SUCCESS &&
           root.is_object();
  }
  std::string str(std::string_view key) const { return str_of(root, key); }
  static std::string str_of(simdjson::dom::element e, std::string_view key) {
    std::string_view v;
    if (e[key].get_string().get(v) != simdjson::SUCCESS) {
      return {};
    }
    return std::string(v);
  }
};

// "<status> <type>: <detail>" from an RFC 7807 problem document, or the status and body.
std::string problem(const AcmeClient::Reply& r) {
  Json j;
  std::string out = "status " + std::to_string(r.status);
  if (j.parse(r.body)) {
    std::string type = j.str("type");
    std::string detail = j.str("detail");
    if (!type.empty() || !detail.empty()) {
      return out + " " + type + ": " + detail;
    }
  }
  return out + " " + r.body.substr(0, 200);
}

// Retry-After in seconds (RFC 8555 §7.4 polling), clamped to [1, 60]; `fallback` when absent
// or an HTTP date (pebble and Let's Encrypt send seconds).
std::chrono::seconds retry_after(const AcmeClient::Reply& r, std::chrono::seconds fallback) {
  if (r.retry_after.empty() ||
      r.retry_after.find_first_not_of("0123456789") != std::string::npos ||
      r.retry_after.size() > 6) {
    return fallback;
  }
  return std::chrono::seconds(std::clamp(std::stol(r.retry_after), 1L, 60L));
}

std::string json_str(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// DER of a CSR for `name` (CN and the only dNSName), signed by `key`.
std::string make_csr(const std::string& name, EVP_PKEY* key) {
  X509_REQ* req = X509_REQ_new();
  std::string out;
  X509_NAME* subject = X509_NAME_new();
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  std::string san = "DNS:" + name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  bool ok = req != nullptr && subject != nullptr && exts != nullptr && ext != nullptr &&
            X509_REQ_set_version(req, 0) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                                       -1, 0) == 1 &&
            X509_REQ_set_subject_name(req, subject) == 1 && X509_REQ_set_pubkey(req, key) == 1 &&
            sk_X509_EXTENSION_push(exts, ext) > 0;
  if (ok) {
    ext = nullptr;  // owned by exts
    ok = X509_REQ_add_extensions(req, exts) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0;
  }
  if (ok) {
    int n = i2d_X509_REQ(req, nullptr);
    if (n > 0) {
      out.resize(static_cast<size_t>(n));
      auto* p = reinterpret_cast<unsigned char*>(out.data());
      i2d_X509_REQ(req, &p);
    }
  }
  X509_EXTENSION_free(ext);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_NAME_free(subject);
  X509_REQ_free(req);
  return out;
}

asio::awaitable<void> sleep_for(std::chrono::seconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(tuple_awaitable);
}

}  // namespace

// ------------------------------------------------------------------------ helpers

EvpPkeyPtr generate_p256_key() { return EvpPkeyPtr(EVP_EC_gen("P-256")); }

std::string ec_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                                   nullptr) != 1) {
    return {};
  }
  return bio_text(bio.get());
}

EvpPkeyPtr key_from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return nullptr;
  }
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<X509Ptr> certificates_from_pem(std::string_view pem) {
  std::vector<X509Ptr> out;
  // PEM_read_bio_X509 skips other blocks (the private key) before each certificate.
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) {
      break;
    }
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as a "no start line" error
  return out;
}

std::string certificate_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return {};
  }
  return bio_text(bio.get());
}

int64_t not_after(X509* cert) {
  const ASN1_TIME* t = X509_get0_notAfter(cert);
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::shared_ptr<const CertifiedKey> make_tls_alpn01_certificate(
    const std::string& name, const std::string& key_authorization) {
  auto out = std::make_shared<CertifiedKey>();
  out->key = generate_p256_key();
  X509Ptr x(X509_new());
  if (!out->key || !x) {
    return nullptr;
  }
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7 * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), subject);
  X509_set_pubkey(x.get(), out->key.get());
  std::string san = "DNS:" + name;
  X509_EXTENSION* san_ext =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  // RFC 8737 §3: id-pe-acmeIdentifier, critical, extnValue = DER OCTET STRING of the SHA-256
  // of the key authorization.
  std::string digest = sha256(key_authorization);
  ASN1_OCTET_STRING* inner = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(inner, reinterpret_cast<const unsigned char*>(digest.data()),
                        static_cast<int>(digest.size()));
  unsigned char* der = nullptr;
  int der_len = i2d_ASN1_OCTET_STRING(inner, &der);
  ASN1_OCTET_STRING* outer = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(outer, der, der_len);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  X509_EXTENSION* acme_ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, outer);
  bool ok = san_ext != nullptr && acme_ext != nullptr && der_len > 0 &&
            X509_add_ext(x.get(), san_ext, -1) == 1 && X509_add_ext(x.get(), acme_ext, -1) == 1 &&
            X509_sign(x.get(), out->key.get(), EVP_sha256()) > 0;
  OPENSSL_free(der);
  ASN1_OCTET_STRING_free(inner);
  ASN1_OCTET_STRING_free(outer);
  ASN1_OBJECT_free(oid);
  X509_EXTENSION_free(san_ext);
  X509_EXTENSION_free(acme_ext);
  if (!ok) {
    return nullptr;
  }
  out->chain.push_back(std::move(x));
  return out;
}

// ------------------------------------------------------------------------ AcmeClient

AcmeClient::AcmeClient(asio::io_context& io, AcmeClientOptions options, EvpPkeyPtr account_key)
    : io_(io),
      options_(std::move(options)),
      account_key_(std::move(account_key)),
      ssl_(asio::ssl::context::tls_client) {
  jwk_ = ec_jwk(account_key_.get());
  thumbprint_ = base64::encode_url(sha256(jwk_));
  boost::system::error_code ec;
  if (options_.directory_ca.empty()) {
    ssl_.set_default_verify_paths(ec);
  } else {
    ssl_.load_verify_file(options_.directory_ca, ec);
  }
  ssl_.set_verify_mode(asio::ssl::verify_peer);
}

AcmeClient::~AcmeClient() = default;

awaitable<expected<AcmeClient::Reply, std::string>> AcmeClient::fetch(std::string method,
                                                                      std::string url,
                                                                      std::string body) {
  ++requests_;
  auto u = split_url(url);
  if (!u) {
    co_return unexpected("bad URL " + url);
  }
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(u->host, u->port, tuple_awaitable);
  if (rec) {
    co_return unexpected(method + " " + url + ": resolve " + u->host + ": " + rec.message());
  }
  beast::tcp_stream stream(ex);
  stream.expires_after(options_.request_timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, tuple_awaitable);
  if (cec) {
    co_return unexpected(method + " " + url + ": connect: " + cec.message());
  }
  http::request<http::string_body> req{http::string_to_verb(method), u->target, 11};
  req.set(http::field::host, u->host_header);
  req.set(http::field::user_agent, "gyre-autocert");
  req.set(http::field::connection, "close");
  if (method == "POST") {
    req.set(http::field::content_type, "application/jose+json");
  }
  req.body() = std::move(body);
  req.prepare_payload();
  expected<Reply, std::string> r;
  if (u->tls) {
    beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), ssl_);
    boost::system::error_code addr_ec;
    asio::ip::make_address(u->host, addr_ec);
    if (addr_ec) {  // SNI carries names only
      SSL_set_tlsext_host_name(tls.native_handle(), u->host.c_str());
    }
    tls.set_verify_callback(asio::ssl::host_name_verification(u->host));
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
    if (hec) {
      co_return unexpected(method + " " + url + ": TLS handshake: " + hec.message());
    }
    r = co_await exchange(tls, req);
  } else {
    r = co_await exchange(stream, req);
  }
  if (!r) {
    co_return unexpected(method + " " + url + ": " + r.error());
  }
  co_return r;
}

awaitable<expected<void, std::string>> AcmeClient::ensure_directory() {
  if (!new_order_url_.empty()) {
    co_return expected<void, std::string>{};
  }
  auto r = co_await fetch("GET", options_.directory_url, "");
  if (!r) {
    co_return unexpected(r.error());
  }
  Json j;
  if (r->status != 200 || !j.parse(r->body)) {
    co_return unexpected("ACME directory " + options_.directory_url + ": " + problem(*r));
  }
  new_nonce_url_ = j.str("newNonce");
  new_account_url_ = j.str("newAccount");
  new_order_url_ = j.str("newOrder");
  if (new_nonce_url_.empty() || new_account_url_.empty() || new_order_url_.empty()) {
    new_order_url_.clear();
    co_return unexpected("ACME directory " + options_.directory_url +
                         " lacks newNonce/newAccount/newOrder");
  }
  co_return expected<void, std::string>{};
}

awaitable<expected<std::string, std::string>> AcmeClient::fresh_nonce() {
  auto r = co_await fetch("HEAD", new_nonce_url_, "");
  if (!r) {
    co_return unexpected(r.error());
  }
  if (r->nonce.empty()) {
    co_return unexpected("newNonce answered without Replay-Nonce (status " +
                         std::to_string(r->status) + ")");
  }
  co_return r->nonce;
}

awaitable<expected<AcmeClient::Reply, std::string>> AcmeClient::post(const std::string& url,
                                                                     const std::string& payload) {
  for (int attempt = 0;; ++attempt) {
    if (nonce_.empty()) {
      auto n = co_await fresh_nonce();
      if (!n) {
        co_return unexpected(n.error());
      }
      nonce_ = std::move(*n);
    }
    std::string header = R"({"alg":"ES256",)";
    if (kid_.empty()) {
      header += R"("jwk":)" + jwk_;
    } else {
      header += R"("kid":)" + json_str(kid_);
    }
    header += R"(,"nonce":)" + json_str(nonce_) + R"(,"url":)" + json_str(url) + "}";
    std::string protected64 = base64::encode_url(header);
    std::string payload64 = base64::encode_url(payload);
    std::string sig = es256_sign(account_key_.get(), protected64 + "." + payload64);
    if (sig.empty()) {
      co_return unexpected("cannot sign with the ACME account key");
    }
    std::string body = R"({"protected":")" + protected64 + R"(","payload":")" + payload64 +
                       R"(","signature":")" + base64::encode_url(sig) + "\"}";
    nonce_.clear();
    auto r = co_await fetch("POST", url, std::move(body));
    if (!r) {
      co_return unexpected(r.error());
    }
    nonce_ = r->nonce;
    if (r->status == 400 && attempt < 3) {
      Json j;
      if (j.parse(r->body) && j.str("type") == "urn:ietf:params:acme:error:badNonce") {
        continue;  // RFC 8555 §6.5: retry with the nonce this refusal carried
      }
    }
    co_return r;
  }
}

awaitable<expected<void, std::string>> AcmeClient::ensure_account() {
  if (!kid_.empty()) {
    co_return expected<void, std::string>{};
  }
  std::string payload = R"({"termsOfServiceAgreed":true)";
  if (!options_.email.empty()) {
    payload += R"(,"contact":[)" + json_str("mailto:" + options_.email) + "]";
  }
  payload += "}";
  auto r = co_await post(new_account_url_, payload);
  if (!r) {
    co_return unexpected(r.error());
  }
  if ((r->status != 200 && r->status != 201) || r->location.empty()) {
    co_return unexpected("ACME newAccount: " + problem(*r));
  }
  kid_ = r->location;
  co_return expected<void, std::string>{};
}

awaitable<expected<void, std::string>> AcmeClient::authorize(const std::string& authz_url,
                                                             ChallengeType type,
                                                             const ChallengeHooks& hooks) {
  auto r = co_await post(authz_url, "");
  if (!r) {
    co_return unexpected(r.error());
  }
  Json j;
  if (r->status != 200 || !j.parse(r->body)) {
    co_return unexpected("ACME authorization " + authz_url + ": " + problem(*r));
  }
  if (j.str("status") == "valid") {
    co_return expected<void, std::string>{};  // validated before (authorization reuse)
  }
  std::string name;
  if (simdjson::dom::element ident; j.root["identifier"].get(ident) == simdjson::SUCCESS) {
    name = Json::str_of(ident, "value");
  }
  const char* want = type == ChallengeType::kHttp01 ? "http-01" : "tls-alpn-01";
  std::string challenge_url, token;
  simdjson::dom::array challenges;
  if (j.root["challenges"].get_array().get(challenges) == simdjson::SUCCESS) {
    for (auto c : challenges) {
      if (Json::str_of(c, "type") == want) {
        challenge_url = Json::str_of(c, "url");
        token = Json::str_of(c, "token");
      }
    }
  }
  if (challenge_url.empty() || token.empty() ||
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
          std::string::npos) {
    co_return unexpected(std::string("ACME authorization for ") + name + " offers no usable " +
                         want + " challenge");
  }
  const std::string key_auth = token + "." + thumbprint_;
  if (type == ChallengeType::kHttp01) {
    hooks.put_http01(token, key_auth);
  } else {
    auto cert = make_tls_alpn01_certificate(name, key_auth);
    if (!cert) {
      co_return unexpected("cannot build the tls-alpn-01 certificate for " + name);
    }
    hooks.put_tls_alpn01(name, std::move(cert));
  }
  // The answer stays published until the authorization is decided, whatever happens.
  struct Drop {
    const ChallengeHooks& hooks;
    ChallengeType type;
    std::string key;
    ~Drop() {
      if (type == ChallengeType::kHttp01) {
        hooks.drop_http01(key);
      } else {
        hooks.drop_tls_alpn01(key);
      }
    }
  } drop{hooks, type, type == ChallengeType::kHttp01 ? token : name};

  auto accepted = co_await post(challenge_url, "{}");
  if (!accepted) {
    co_return unexpected(accepted.error());
  }
  if (accepted->status != 200) {
    co_return unexpected("ACME challenge " + challenge_url + ": " + problem(*accepted));
  }
  auto wait = retry_after(*accepted, std::chrono::seconds(1));
  for (int polls = 0; polls < 60; ++polls) {
    co_await sleep_for(wait);
    auto a = co_await post(authz_url, "");
    if (!a) {
      co_return unexpected(a.error());
    }
    Json s;
    if (a->status != 200 || !s.parse(a->body)) {
      co_return unexpected("ACME authorization " + authz_url + ": " + problem(*a));
    }
    std::string status = s.str("status");
    if (status == "valid") {
      co_return expected<void, std::string>{};
    }
    if (status != "pending" && status != "processing") {
      // The failed challenge carries the CA's reason in its "error" member.
      std::string reason = status;
      simdjson::dom::array cs;
      if (s.root["challenges"].get_array().get(cs) == simdjson::SUCCESS) {
        for (auto c : cs) {
          if (Json::str_of(c, "type") == want) {
            simdjson::dom::element err;
            if (c["error"].get(err) == simdjson::SUCCESS) {
              reason += ": " + Json::str_of(err, "type") + ": " + Json::str_of(err, "detail");
            }
          }
        }
      }
      co_return unexpected("ACME " + std::string(want) + " validation of " + name +
                           " failed: " + reason);
    }
    wait = retry_after(*a, std::chrono::seconds(std::min(2 + polls, 10)));
  }
  co_return unexpected("ACME authorization " + authz_url + " still pending after 60 polls");
}

awaitable<expected<IssuedCertificate, std::string>> AcmeClient::obtain(std::string name,
                                                                      ChallengeType type,
                                                                      const ChallengeHooks& hooks) {
  if (jwk_.empty()) {
    co_return unexpected("the ACME account key is not a P-256 key");
  }
  if (auto d = co_await ensure_directory(); !d) {
    co_return unexpected(d.error());
  }
  if (auto a = co_await ensure_account(); !a) {
    co_return unexpected(a.error());
  }
  auto order = co_await post(new_order_url_, R"({"identifiers":[{"type":"dns","value":)" +
                                                 json_str(name) + "}]}");
  if (!order) {
    co_return unexpected(order.error());
  }
  Json o;
  if (order->status != 201 || order->location.empty() || !o.parse(order->body)) {
    co_return unexpected("ACME newOrder for " + name + ": " + problem(*order));
  }
  const std::string order_url = order->location;
  std::string finalize_url = o.str("finalize");
  std::vector<std::string> authz_urls;
  simdjson::dom::array authzs;
  if (o.root["authorizations"].get_array().get(authzs) == simdjson::SUCCESS) {
    for (auto a : authzs) {
      std::string_view s;
      if (a.get_string().get(s) == simdjson::SUCCESS) {
        authz_urls.emplace_back(s);
      }
    }
  }
  if (finalize_url.empty() || authz_urls.empty()) {
    co_return unexpected("ACME order for " + name + " lacks finalize/authorizations");
  }
  for (const auto& url : authz_urls) {
    if (auto a = co_await authorize(url, type, hooks); !a) {
      co_return unexpected(a.error());
    }
  }

  auto key = generate_p256_key();
  std::string csr = key ? make_csr(name, key.get()) : std::string();
  if (csr.empty()) {
    co_return unexpected("cannot build the CSR for " + name);
  }
  auto fin = co_await post(finalize_url, R"({"csr":")" + base64::encode_url(csr) + "\"}");
  if (!fin) {
    co_return unexpected(fin.error());
  }
  if (fin->status != 200) {
    co_return unexpected("ACME finalize for " + name + ": " + problem(*fin));
  }
  std::string cert_url;
  auto last = std::move(*fin);
  for (int polls = 0;; ++polls) {
    Json s;
    if (!s.parse(last.body)) {
      co_return unexpected("ACME order " + order_url + ": " + problem(last));
    }
    std::string status = s.str("status");
    if (status == "valid") {
      cert_url = s.str("certificate");
      break;
    }
    if (status != "processing" && status != "pending" && status != "ready") {
      co_return unexpected("ACME order for " + name + " is " + status + ": " + problem(last));
    }
    if (polls >= 60) {
      co_return unexpected("ACME order " + order_url + " still " + status + " after 60 polls");
    }
    co_await sleep_for(retry_after(last, std::chrono::seconds(1)));
    auto again = co_await post(order_url, "");
    if (!again) {
      co_return unexpected(again.error());
    }
    if (again->status != 200) {
      co_return unexpected("ACME order " + order_url + ": " + problem(*again));
    }
    last = std::move(*again);
  }
  if (cert_url.empty()) {
    co_return unexpected("ACME order " + order_url + " is valid without a certificate URL");
  }
  auto chain = co_await post(cert_url, "");
  if (!chain) {
    co_return unexpected(chain.error());
  }
  if (chain->status != 200) {
    co_return unexpected("ACME certificate " + cert_url + ": " + problem(*chain));
  }
  auto certs = certificates_from_pem(chain->body);
  if (certs.empty()) {
    co_return unexpected("ACME certificate " + cert_url + " holds no PEM certificate");
  }
  if (X509_check_private_key(certs.front().get(), key.get()) != 1 ||
      X509_check_host(certs.front().get(), name.data(), name.size(), 0, nullptr) != 1) {
    ERR_clear_error();
    co_return unexpected("ACME certificate " + cert_url + " does not match the order for " +
                         name);
  }
  IssuedCertificate out;
  out.pem = ec_key_to_pem(key.get());
  for (const auto& c : certs) {
    out.pem += certificate_to_pem(c.get());
  }
  auto ck = std::make_shared<CertifiedKey>();
  ck->chain = std::move(certs);
  ck->key = std::move(key);
  out.cert = std::move(ck);
  co_return out;
}

}  // namespace gyre::tls
