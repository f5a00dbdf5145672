#include "auth/jwt.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <re2/re2.h>
#include <simdjson.h>

#include "auth/jwks.h"
#include "auth/jws.h"
#include "auth/jwt_claims.h"
#include "core/base64.h"
#include "protocol/json_raw.h"

// Token verification (server-api.md §3.2): parsing, signature, time and issuer/audience checks,
// and the mapping of decoded claims (jwt_claims.h) to ConnectClaims / SubscribeClaims.
namespace gyre::auth {
namespace {

using claims::DecodedClaims;
using claims::DecodedOptions;
using claims::TokenKind;
using claims::decode_claims;
using claims::decode_header;
using claims::user_id_from_claim;
using claims::valid_json;

namespace od = simdjson::ondemand;
using JsonType = od::json_type;

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// --- token-level helpers ----------------------------------------------------------------

struct ParsedToken {
  std::string alg;
  std::string kid;
  std::string_view signing_input;  // "header.payload" exactly as received
  simdjson::padded_string payload;
  std::string signature;
};

// cristalhq/jwt parsing (server-api.md §3.2 step 1).
std::optional<ParsedToken> parse_token(std::string_view token) {
  // "eyJ" is base64url of `{"`, the start of every JOSE header.
  if (!token.starts_with("eyJ")) {
    return std::nullopt;
  }
  size_t dot1 = token.find('.');
  size_t dot2 = token.rfind('.');
  if (dot1 == std::string_view::npos || dot2 == dot1) {
    return std::nullopt;
  }
  auto header = base64::decode_url(token.substr(0, dot1));
  if (!header) {
    return std::nullopt;
  }
  auto head = decode_header(*header);
  if (!head) {
    return std::nullopt;
  }
  auto payload = base64::decode_url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) {
    return std::nullopt;
  }
  auto signature = base64::decode_url(token.substr(dot2 + 1));
  if (!signature) {
    return std::nullopt;
  }
  return ParsedToken{std::move(head->alg), std::move(head->kid), token.substr(0, dot2),
                     simdjson::padded_string(*payload), std::move(*signature)};
}

// b64* wins over the raw JSON field when non-empty; false on bad standard base64.
bool resolve_binary(const std::string& b64, const std::optional<std::string>& raw,
                    std::string& out) {
  if (!b64.empty()) {
    auto decoded = base64::decode_std(b64);
    if (!decoded) {
      return false;
    }
    out = std::move(*decoded);
    return true;
  }
  out = raw.value_or("");
  return true;
}

// NumericDate -> Unix seconds as Go's time.Unix(...).Unix() gives them (floor), saturated.
std::optional<int64_t> to_unix_seconds(std::optional<double> date) {
  if (!date) {
    return std::nullopt;
  }
  double seconds = std::floor(*date);
  if (seconds >= 9223372036854775807.0) {
    return std::numeric_limits<int64_t>::max();
  }
  if (seconds <= -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(seconds);
}

std::unique_ptr<re2::RE2> compile_regex(const std::string& pattern, const std::string& option) {
  if (pattern.empty()) {
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, options);
  if (!re->ok()) {
    throw std::runtime_error(option + ": " + re->error());
  }
  return re;
}

// Unanchored search (Go's FindStringSubmatch); on a match, named groups go into `vars`.
bool match_vars(const re2::RE2& re, std::string_view text,
                std::map<std::string, std::string>& vars) {
  int groups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> sub(static_cast<size_t>(groups) + 1);
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::UNANCHORED,
                sub.data(), groups + 1)) {
    return false;
  }
  for (const auto& [name, index] : re.NamedCapturingGroups()) {
    const auto& piece = sub[static_cast<size_t>(index)];
    vars[name] = piece.data() == nullptr ? std::string() : std::string(piece.data(), piece.size());
  }
  return true;
}

}  // namespace

struct Verifier::Impl {
  struct Checked {
    DecodedClaims claims;
    simdjson::padded_string payload;
  };

  std::shared_ptr<const config::Config> cfg;
  std::string audience;
  std::string issuer;
  std::string user_id_claim;
  std::unique_ptr<re2::RE2> audience_re;
  std::unique_ptr<re2::RE2> issuer_re;
  std::unique_ptr<SignatureKeys> keys;
  std::string jwks_url;               // non-empty: every token is verified through JWKS
  std::shared_ptr<JwksCache> jwks;
  bool skip_signature = false;

  // Steps 1-9 of server-api.md §3.2 (step 8 for connection tokens only).
  std::expected<Checked, TokenError> check(std::string_view token, TokenKind kind, double now,
                                           JwksFetch* fetch) const;
  // Whether `channel` resolves to a configured namespace (rule.Container.ChannelOptions).
  bool channel_known(std::string_view channel) const;
  // Step 11.
  std::string user_id(const Checked& checked) const;
};

std::expected<Verifier::Impl::Checked, TokenError> Verifier::Impl::check(std::string_view token,
                                                                         TokenKind kind,
                                                                         double now,
                                                                         JwksFetch* fetch) const {
  auto parsed = parse_token(token);
  if (!parsed) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!valid_json(parsed->payload)) {
    return std::unexpected(TokenError::kInvalid);
  }
  auto claims = decode_claims(parsed->payload, kind);
  if (!claims) {
    return std::unexpected(TokenError::kInvalid);
  }
  const auto& aud = claims->aud;
  if (!audience.empty() && std::find(aud.begin(), aud.end(), audience) == aud.end()) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!issuer.empty() && claims->iss != issuer) {
    return std::unexpected(TokenError::kInvalid);
  }
  // Named groups of the issuer and audience regexes are the JWKS URL's template variables.
  std::map<std::string, std::string> vars;
  if (issuer_re && !match_vars(*issuer_re, claims->iss, vars)) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (audience_re && std::none_of(aud.begin(), aud.end(), [&](const std::string& a) {
        return match_vars(*audience_re, a, vars);
      })) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!skip_signature) {
    if (jwks) {
      // server-api.md §3.4: kid required; the key comes from the cache or a fetch.
      if (parsed->kid.empty()) {
        return std::unexpected(TokenError::kInvalid);
      }
      auto key = jwks->find(parsed->kid);
      if (!key) {
        if (fetch == nullptr) {
          return std::unexpected(TokenError::kInvalid);
        }
        fetch->url = expand_jwks_url(jwks_url, vars);
        fetch->kid = parsed->kid;
        return std::unexpected(TokenError::kKeysNeeded);
      }
      if (!key->verify(parsed->alg, parsed->signing_input, parsed->signature)) {
        return std::unexpected(TokenError::kInvalid);
      }
    } else if (!keys->verify(parsed->alg, parsed->signing_input, parsed->signature)) {
      return std::unexpected(TokenError::kInvalid);
    }
  }
  if (kind == TokenKind::kConnect && !claims->channel.empty()) {
    // "connection JWT can not contain channel claim, only subscription JWT can"
    return std::unexpected(TokenError::kInvalid);
  }
  // No leeway, sub-second precision; iat is not checked.
  if ((claims->exp && !(*claims->exp > now)) || (claims->nbf && !(*claims->nbf < now))) {
    return std::unexpected(TokenError::kExpired);
  }
  return Checked{std::move(*claims), std::move(parsed->payload)};
}

bool Verifier::Impl::channel_known(std::string_view channel) const {
  const std::string& prefix = cfg->channel_private_prefix;
  if (!prefix.empty() && channel.starts_with(prefix)) {
    channel.remove_prefix(prefix.size());
  }
  std::string_view ns;
  const std::string& boundary = cfg->channel_namespace_boundary;
  if (!boundary.empty()) {
    size_t pos = channel.find(boundary);
    if (pos != std::string_view::npos) {
      ns = channel.substr(0, pos);
    }
  }
  return cfg->find_namespace(ns) != nullptr;
}

std::string Verifier::Impl::user_id(const Checked& checked) const {
  if (user_id_claim.empty()) {
    return checked.claims.sub;
  }
  return user_id_from_claim(checked.payload, user_id_claim);
}

Verifier::Verifier(const config::TokenConfig& token, std::shared_ptr<const config::Config> cfg)
    : impl_(std::make_unique<Impl>()) {
  assert(cfg != nullptr);
  // Errors name the option the operator wrote, so tell the two token configs apart.
  std::string prefix = &token == &cfg->subscription_token ? "subscription_token_" : "token_";
  if (!token.jwks_public_endpoint.empty()) {
    const std::string& url = token.jwks_public_endpoint;
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      throw std::runtime_error(prefix + "jwks_public_endpoint: endpoint must have http:// or "
                               "https:// scheme, got: " + url);
    }
    impl_->jwks_url = url;
    impl_->jwks = std::make_shared<JwksCache>();
  }
  if (!token.audience.empty() && !token.audience_regex.empty()) {
    throw std::runtime_error(prefix + "audience_regex: can not be used together with " + prefix +
                             "audience");
  }
  if (!token.issuer.empty() && !token.issuer_regex.empty()) {
    throw std::runtime_error(prefix + "issuer_regex: can not be used together with " + prefix +
                             "issuer");
  }
  impl_->audience = token.audience;
  impl_->issuer = token.issuer;
  impl_->user_id_claim = token.user_id_claim;
  impl_->audience_re = compile_regex(token.audience_regex, prefix + "audience_regex");
  impl_->issuer_re = compile_regex(token.issuer_regex, prefix + "issuer_regex");
  impl_->keys = std::make_unique<SignatureKeys>(token, prefix);
  impl_->skip_signature = cfg->client_insecure_skip_token_signature_verify;
  impl_->cfg = std::move(cfg);
}

Verifier::~Verifier() = default;

bool Verifier::uses_jwks() const { return impl_->jwks != nullptr; }

bool Verifier::store_jwks(const JwksFetch& fetch, std::string_view body) const {
  if (!impl_->jwks) {
    return false;
  }
  auto set = parse_jwk_set(body);
  if (!set) {
    return false;
  }
  return impl_->jwks->store(*set, fetch.kid) != nullptr;
}

std::expected<ConnectClaims, TokenError> Verifier::verify_connect(std::string_view token,
                                                                  double now,
                                                                  JwksFetch* fetch) const {
  auto checked = impl_->check(token, TokenKind::kConnect, now, fetch);
  if (!checked) {
    return std::unexpected(checked.error());
  }
  DecodedClaims& claims = checked->claims;
  ConnectClaims out;
  if (!claims.subs.empty()) {
    out.subs.reserve(claims.subs.size());
    for (auto& [channel, options] : claims.subs) {
      if (!impl_->channel_known(channel)) {
        return std::unexpected(TokenError::kUnknownChannel);
      }
      SubscribeOptions resolved;
      if (!resolve_binary(options.b64info, options.info, resolved.info) ||
          !resolve_binary(options.b64data, options.data, resolved.data)) {
        return std::unexpected(TokenError::kInvalid);
      }
      resolved.override = options.override;
      out.subs.emplace_back(std::move(channel), std::move(resolved));
    }
  } else {
    // Centrifugo collects channels into a map: a repeated channel subscribes once.
    std::unordered_set<std::string_view> seen;
    for (const std::string& channel : claims.channels) {
      if (!impl_->channel_known(channel)) {
        return std::unexpected(TokenError::kUnknownChannel);
      }
      if (seen.insert(channel).second) {
        out.subs.emplace_back(channel, SubscribeOptions{});
      }
    }
  }
  out.exp = to_unix_seconds(claims.exp);
  out.expire_at = claims.expire_at;
  // Reference quirk: a bad top-level b64info is a plain error (100), not an invalid token.
  if (!resolve_binary(claims.b64info, claims.info, out.info)) {
    return std::unexpected(TokenError::kInternal);
  }
  out.meta = claims.meta.value_or("");
  out.user = impl_->user_id(*checked);
  return out;
}

std::expected<SubscribeClaims, TokenError> Verifier::verify_subscribe(std::string_view token,
                                                                      double now,
                                                                      JwksFetch* fetch) const {
  auto checked = impl_->check(token, TokenKind::kSubscribe, now, fetch);
  if (!checked) {
    return std::unexpected(checked.error());
  }
  DecodedClaims& claims = checked->claims;
  // Checked after the time check, as in Centrifugo.
  if (claims.channel.empty()) {
    return std::unexpected(TokenError::kInvalid);
  }
  if (!impl_->channel_known(claims.channel)) {
    return std::unexpected(TokenError::kUnknownChannel);
  }
  SubscribeClaims out;
  if (!resolve_binary(claims.options.b64info, claims.options.info, out.info) ||
      !resolve_binary(claims.options.b64data, claims.options.data, out.data)) {
    return std::unexpected(TokenError::kInvalid);
  }
  out.channel = std::move(claims.channel);
  out.client = std::move(claims.client);
  out.override = claims.options.override;
  out.exp = to_unix_seconds(claims.exp);
  out.expire_at = claims.expire_at;
  out.user = impl_->user_id(*checked);
  return out;
}

int64_t ConnectClaims::expires_at() const {
  if (expire_at) {
    return *expire_at > 0 ? *expire_at : 0;
  }
  return exp.value_or(0);
}

int64_t SubscribeClaims::expires_at() const {
  if (expire_at) {
    return *expire_at > 0 ? *expire_at : 0;
  }
  return exp.value_or(0);
}

std::string make_hs256_token(std::string_view secret, std::string_view payload_json) {
  std::string token = base64::encode_url(kHs256Header);
  token += '.';
  token += base64::encode_url(payload_json);
  std::string signature = hmac_sign("HS256", secret, token);
  token += '.';
  token += base64::encode_url(signature);
  return token;
}

}  // namespace gyre::auth
