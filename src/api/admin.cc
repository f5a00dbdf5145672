#include "api/admin.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/constant_time.h"
#include "core/log.h"
#include "core/shard.h"
#include "node/node.h"
#include "transport/http_util.h"

namespace gyre::api {
namespace {

using Done = std::function<void(Response)>;

constexpr std::string_view kText = "text/plain; charset=utf-8";
// Go's http.Error adds it to its text answers.
constexpr std::string_view kNoSniff = "X-Content-Type-Options: nosniff\r\n";
// securecookie: the cookie name Centrifugo encodes under, the gob encoding of the string
// "authorized" (its value), and its default max age.
constexpr std::string_view kTokenName = "token";
constexpr std::string_view kGobAuthorized{"\x0d\x0c\x00\x0a" "authorized", 14};
constexpr int64_t kTokenMaxAge = 86400 * 30;

template <typename F>
void later(F&& fn) {
  if (Shard* s = Shard::current()) {
    s->post(std::forward<F>(fn));
  } else {
    fn();
  }
}

void reply_later(const Done& done, Response r) {
  later([done, r = std::move(r)]() mutable { done(std::move(r)); });
}

// Go's base64.URLEncoding: URL alphabet with '=' padding.
std::string encode_url_padded(std::string_view in) {
  std::string out = base64::encode_url(in);
  while (out.size() % 4 != 0) {
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> decode_url_padded(std::string_view in) {
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') {
    ++pad;
  }
  return base64::decode_url(in.substr(0, in.size() - pad));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static const char kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string content_type_of(std::string_view name) {
  auto ends = [name](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) {
    return "text/html; charset=utf-8";
  }
  if (ends(".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (ends(".css")) {
    return "text/css; charset=utf-8";
  }
  if (ends(".svg")) {
    return "image/svg+xml";
  }
  if (ends(".png")) {
    return "image/png";
  }
  return "application/octet-stream";
}

// A strong validator that changes with the file's bytes (FNV-1a 64).
std::string etag_of(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h = (h ^ c) * 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

std::string make_admin_token(std::string_view secret, int64_t now) {
  // "name|date|value|" is MACed; the token is base64("date|value|mac").
  std::string signed_part = std::string(kTokenName) + "|" + std::to_string(now) + "|" +
                            encode_url_padded(kGobAuthorized);
  std::string mac = hmac_sha256(secret, signed_part);
  std::string body = signed_part.substr(kTokenName.size() + 1) + "|" + mac;
  return encode_url_padded(body);
}

bool check_admin_token(std::string_view secret, std::string_view token, int64_t now) {
  if (token.size() > 4096) {
    return false;
  }
  auto raw = decode_url_padded(token);
  if (!raw) {
    return false;
  }
  std::string_view b = *raw;
  size_t p1 = b.find('|');
  if (p1 == std::string_view::npos) {
    return false;
  }
  size_t p2 = b.find('|', p1 + 1);
  if (p2 == std::string_view::npos) {
    return false;
  }
  std::string_view date = b.substr(0, p1);
  std::string_view value = b.substr(p1 + 1, p2 - p1 - 1);
  std::string_view mac = b.substr(p2 + 1);
  std::string signed_part = std::string(kTokenName) + "|" + std::string(b.substr(0, p2));
  if (!constant_time_equal(mac, hmac_sha256(secret, signed_part))) {
    return false;
  }
  if (date.empty() || date.size() > 19) {
    return false;
  }
  int64_t t = 0;
  bool negative = date[0] == '-';
  for (size_t i = negative ? 1 : 0; i < date.size(); ++i) {
    if (date[i] < '0' || date[i] > '9') {
      return false;
    }
    t = t * 10 + (date[i] - '0');
  }
  if (negative || t < now - kTokenMaxAge) {
    return false;
  }
  auto decoded = decode_url_padded(value);
  return decoded && *decoded == kGobAuthorized;
}

Admin::Admin(node::Node& node, HttpApi& api) : node_(node), api_(api) {
  std::string_view prefix = node_.config()->admin_handler_prefix;
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  prefix_ = std::string(prefix);
  for (const AdminAsset& a : admin_assets()) {
    files_.push_back(File{std::string(a.name), a.data, content_type_of(a.name), etag_of(a.data)});
  }
}

Admin::Route Admin::route(std::string_view path) const {
  if (!path.starts_with(prefix_) || path.size() == prefix_.size() ||
      path[prefix_.size()] != '/') {
    return Route::kNone;
  }
  std::string_view rel = path.substr(prefix_.size());
  if (rel == "/admin/settings") {
    return Route::kSettings;
  }
  if (rel == "/admin/auth") {
    return Route::kAuth;
  }
  if (rel == "/admin/api") {
    return Route::kApi;
  }
  if (rel == "/admin/connection/websocket") {
    return Route::kTail;
  }
  return Route::kFile;
}

bool Admin::authorized(std::string_view authorization, std::string_view query) const {
  const auto& cfg = *node_.config();
  if (cfg.admin_insecure) {
    return true;
  }
  if (cfg.admin_secret.empty()) {
    logging::error("no admin secret key found in configuration");
    return false;
  }
  std::string token;
  if (!authorization.empty()) {
    auto parts = transport::http::header_fields(authorization);
    if (parts.size() != 2 || !ascii_iequals(parts[0], "token")) {
      return false;
    }
    token = std::string(parts[1]);
  } else {
    token = transport::http::query_param(query, "token").value_or("");
  }
  return !token.empty() && check_admin_token(cfg.admin_secret, token, unix_now());
}

void Admin::handle(Route route, Request req, Done done) const {
  switch (route) {
    case Route::kSettings: {
      // Go's encoder writes a map's keys sorted.
      std::string body = std::string("{\"edition\":\"oss\",\"insecure\":") +
                         (node_.config()->admin_insecure ? "true" : "false") + "}\n";
      return reply_later(done, {200, "application/json", std::move(body), ""});
    }
    case Route::kAuth:
      if (req.method != "POST") {
        return reply_later(done, {405, "", "", ""});
      }
      return auth(req, done);
    case Route::kApi:
      if (req.method != "POST") {
        return reply_later(done, {405, "", "", ""});
      }
      if (!authorized(req.authorization, req.query)) {
        return reply_later(done, {401, "", "", ""});
      }
      return api_.handle_admin(std::move(req), std::move(done));
    case Route::kFile:
      return serve_file(std::string_view(req.path).substr(prefix_.size() + 1), req, done);
    case Route::kTail:
    case Route::kNone:
      break;
  }
  reply_later(done, {404, std::string(kText), "404 page not found\n", std::string(kNoSniff)});
}

void Admin::auth(const Request& req, const Done& done) const {
  // Go's Request.FormValue: a urlencoded body first, then the query string.
  std::optional<std::string> password;
  std::string_view ct = req.content_type;
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && is_space(ct.back())) {
    ct.remove_suffix(1);
  }
  if (ascii_iequals(ct, "application/x-www-form-urlencoded")) {
    password = transport::http::query_param(req.body, "password");
  }
  if (!password) {
    password = transport::http::query_param(req.query, "password");
  }
  const auto& cfg = *node_.config();
  if (cfg.admin_password.empty() || cfg.admin_secret.empty()) {
    logging::error("admin_password and admin_secret must be set in configuration");
    return reply_later(done, {400, std::string(kText), "Bad Request\n", std::string(kNoSniff)});
  }
  if (!constant_time_equal(password.value_or(""), cfg.admin_password)) {
    return reply_later(done, {400, std::string(kText), "Bad Request\n", std::string(kNoSniff)});
  }
  std::string body =
      "{\"token\":\"" + make_admin_token(cfg.admin_secret, unix_now()) + "\"}\n";
  reply_later(done, {200, "application/json", std::move(body), ""});
}

void Admin::serve_file(std::string_view rel, const Request& req, const Done& done) const {
  if (rel.empty()) {
    rel = "index.html";
  }
  for (const File& f : files_) {
    if (f.name != rel) {
      continue;
    }
    // Revalidated on every load (no-cache) and answered 304 while unchanged: a new binary
    // shows its new page at once, an unchanged one costs no bytes.
    std::string headers = "Cache-Control: no-cache\r\nETag: " + f.etag +
                          "\r\nX-Content-Type-Options: nosniff\r\n";
    if (rel == "index.html") {
      headers += "X-Frame-Options: DENY\r\n";
    }
    if (!req.if_none_match.empty() && req.if_none_match.find(f.etag) != std::string::npos) {
      return reply_later(done, {304, "", "", std::move(headers)});
    }
    std::string body = req.method == "HEAD" ? std::string() : std::string(f.data);
    return reply_later(done, {200, f.content_type, std::move(body), std::move(headers)});
  }
  reply_later(done, {404, std::string(kText), "404 page not found\n", std::string(kNoSniff)});
}

}  // namespace gyre::api
