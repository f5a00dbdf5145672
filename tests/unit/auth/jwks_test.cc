#include "auth/jwks.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "auth/jwt.h"
#include "core/base64.h"

namespace gyre::auth {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey rsa_key() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free); }
Pkey ec_key(const char* curve) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), EVP_PKEY_free);
}
Pkey ed_key() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free); }

std::string bn_param(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &bn), 1);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return base64::encode_url(out);
}

std::string rsa_jwk(EVP_PKEY* k, const std::string& kid, const std::string& alg,
                    const std::string& use = "sig") {
  return R"({"kty":"RSA","kid":")" + kid + R"(","alg":")" + alg + R"(","use":")" + use +
         R"(","n":")" + bn_param(k, OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
         bn_param(k, OSSL_PKEY_PARAM_RSA_E) + R"("})";
}

std::string ec_jwk(EVP_PKEY* k, const std::string& kid, const std::string& crv,
                   const std::string& alg) {
  return R"({"kty":"EC","kid":")" + kid + R"(","alg":")" + alg + R"(","use":"sig","crv":")" +
         crv + R"(","x":")" + bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X) + R"(","y":")" +
         bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y) + R"("})";
}

std::string ed_jwk(EVP_PKEY* k, const std::string& kid) {
  unsigned char pub[32];
  size_t len = sizeof(pub);
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
  return R"({"kty":"OKP","kid":")" + kid + R"(","use":"sig","crv":"Ed25519","x":")" +
         base64::encode_url(std::string(reinterpret_cast<char*>(pub), len)) + R"("})";
}

// Raw signature as JWS carries it (R||S for ECDSA).
std::string sign(EVP_PKEY* k, const EVP_MD* md, std::string_view input, size_t ec_half = 0) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, md, nullptr, k), 1);
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (ec_half == 0) {
    return sig;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(2 * ec_half, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()),
               static_cast<int>(ec_half));
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + ec_half,
               static_cast<int>(ec_half));
  ECDSA_SIG_free(es);
  return raw;
}

std::string token(EVP_PKEY* k, const std::string& alg, const std::string& kid,
                  const std::string& claims, const EVP_MD* md, size_t ec_half = 0) {
  std::string header = R"({"alg":")" + alg + R"(","typ":"JWT")" +
                       (kid.empty() ? "" : R"(,"kid":")" + kid + "\"") + "}";
  std::string input = base64::encode_url(header) + "." + base64::encode_url(claims);
  return input + "." + base64::encode_url(sign(k, md, input, ec_half));
}

TEST(JwksUrl, ExpandsPlaceholdersLikeFasttemplate) {
  EXPECT_EQ(expand_jwks_url("https://idp/{{tenant}}/keys", {{"tenant", "acme"}}),
            "https://idp/acme/keys");
  EXPECT_EQ(expand_jwks_url("https://idp/{{missing}}/keys", {}), "https://idp//keys");
  EXPECT_EQ(expand_jwks_url("https://idp/{{a}}{{b}}", {{"a", "1"}, {"b", "2"}}), "https://idp/12");
  EXPECT_EQ(expand_jwks_url("https://idp/{{open", {{"open", "x"}}), "https://idp/{{open");
  EXPECT_EQ(expand_jwks_url("plain", {}), "plain");
}

TEST(JwkSet, RejectsMalformedSets) {
  EXPECT_FALSE(parse_jwk_set("not json"));
  EXPECT_FALSE(parse_jwk_set("[]"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":{}})"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[1]})"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[{"kty":1}]})"));
  // Bad key material for a known type fails the whole set (rakutentech/jwk-go ToJWK).
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]})"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]})"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[{"kty":"EC","crv":"P-999","x":"AA","y":"AA"}]})"));
  EXPECT_FALSE(parse_jwk_set(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})"));
}

TEST(JwkSet, ParsesEveryKeyTypeAndKeepsOrder) {
  auto r = rsa_key();
  auto e = ec_key("P-256");
  auto d = ed_key();
  auto set = parse_jwk_set(R"({"keys":[)" + rsa_jwk(r.get(), "r", "RS256") + "," +
                           ec_jwk(e.get(), "e", "P-256", "ES256") + "," + ed_jwk(d.get(), "d") +
                           R"(,{"kty":"oct","kid":"o","k":"c2VjcmV0"}]})");
  ASSERT_TRUE(set) << set.error();
  ASSERT_EQ(set->size(), 4u);
  EXPECT_EQ((*set)[0]->kid, "r");
  EXPECT_EQ((*set)[1]->kty, "EC");
  EXPECT_EQ((*set)[2]->kty, "OKP");
  EXPECT_EQ((*set)[3]->key, nullptr);  // unsupported type: no material, verifies nothing
  EXPECT_FALSE((*set)[3]->verify("HS256", "a.b", "sig"));
  EXPECT_TRUE(parse_jwk_set(R"({"keys":null})"));
  EXPECT_TRUE(parse_jwk_set(R"({"other":1})")->empty());
}

TEST(Jwk, VerifiesOnlyWithTheKeysAlgorithm) {
  auto r = rsa_key();
  auto set = parse_jwk_set(R"({"keys":[)" + rsa_jwk(r.get(), "r", "RS256") + "]}");
  ASSERT_TRUE(set);
  const Jwk& k = *(*set)[0];
  std::string input = "eyJhbGciOiJSUzI1NiJ9.e30";
  std::string sig256 = sign(r.get(), EVP_sha256(), input);
  EXPECT_TRUE(k.verify("RS256", input, sig256));
  EXPECT_FALSE(k.verify("RS384", input, sign(r.get(), EVP_sha384(), input)));
  EXPECT_FALSE(k.verify("RS256", input + "x", sig256));
  EXPECT_FALSE(k.verify("none", input, ""));
}

TEST(Jwk, VerifiesEcdsaAndEd25519) {
  auto e = ec_key("P-384");
  auto d = ed_key();
  auto set = parse_jwk_set(R"({"keys":[)" + ec_jwk(e.get(), "e", "P-384", "ES384") + "," +
                           ed_jwk(d.get(), "d") + "]}");
  ASSERT_TRUE(set) << set.error();
  std::string input = "eyJhbGciOiJFUzM4NCJ9.e30";
  std::string es = sign(e.get(), EVP_sha384(), input, 48);
  EXPECT_TRUE((*set)[0]->verify("ES384", input, es));
  EXPECT_FALSE((*set)[0]->verify("ES256", input, es));
  EXPECT_FALSE((*set)[0]->verify("ES384", input, es.substr(1)));
  std::string ed = sign(d.get(), nullptr, input);
  EXPECT_TRUE((*set)[1]->verify("EdDSA", input, ed));
  EXPECT_FALSE((*set)[1]->verify("ES384", input, ed));
}

TEST(JwksCache, KeepsOnlySigKeysUntilTheirTtl) {
  auto r = rsa_key();
  auto set = parse_jwk_set(R"({"keys":[)" + rsa_jwk(r.get(), "a", "RS256") + "," +
                           rsa_jwk(r.get(), "b", "RS256", "enc") + "]}");
  ASSERT_TRUE(set);
  JwksCache cache;
  EXPECT_NE(cache.store(*set, "a"), nullptr);
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(cache.store(*set, "b"), nullptr);
  JwksCache expired(std::chrono::seconds(0));
  expired.store(*set, "a");
  EXPECT_EQ(expired.find("a"), nullptr);
}

TEST(JwksVerifier, NeedsKidFetchesByTemplateThenVerifies) {
  auto cfg = std::make_shared<config::Config>();
  cfg->token.jwks_public_endpoint = "http://keys.test/{{tenant}}/jwks";
  cfg->token.issuer_regex = "^https://idp/(?P<tenant>[a-z]+)$";
  Verifier v(cfg->token, cfg);
  EXPECT_TRUE(v.uses_jwks());
  auto r = rsa_key();
  const double now = 1700000000;
  std::string claims = R"({"sub":"42","iss":"https://idp/acme"})";
  std::string t = token(r.get(), "RS256", "k1", claims, EVP_sha256());

  // No kid → invalid without any fetch.
  JwksFetch fetch;
  auto no_kid = v.verify_connect(token(r.get(), "RS256", "", claims, EVP_sha256()), now, &fetch);
  ASSERT_FALSE(no_kid);
  EXPECT_EQ(no_kid.error(), TokenError::kInvalid);
  // Unknown kid → the caller must fetch the templated URL.
  auto need = v.verify_connect(t, now, &fetch);
  ASSERT_FALSE(need);
  EXPECT_EQ(need.error(), TokenError::kKeysNeeded);
  EXPECT_EQ(fetch.url, "http://keys.test/acme/jwks");
  EXPECT_EQ(fetch.kid, "k1");
  // Without a fetch slot a missing key is simply invalid.
  EXPECT_EQ(v.verify_connect(t, now).error(), TokenError::kInvalid);
  // Issuer not matching the regex: invalid before any fetch.
  auto other = token(r.get(), "RS256", "k1", R"({"sub":"1","iss":"https://evil/acme"})",
                     EVP_sha256());
  EXPECT_EQ(v.verify_connect(other, now, &fetch).error(), TokenError::kInvalid);

  EXPECT_FALSE(v.store_jwks(fetch, R"({"keys":[]})"));
  EXPECT_TRUE(v.store_jwks(fetch, R"({"keys":[)" + rsa_jwk(r.get(), "k1", "RS256") + "]}"));
  auto ok = v.verify_connect(t, now);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->user, "42");
  // HMAC tokens are not accepted once JWKS is configured.
  EXPECT_FALSE(v.verify_connect(make_hs256_token("", claims), now));
}

TEST(JwksVerifier, RejectsANonHttpEndpointAtStartup) {
  auto cfg = std::make_shared<config::Config>();
  cfg->token.jwks_public_endpoint = "ftp://keys.test/jwks";
  try {
    Verifier v(cfg->token, cfg);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("token_jwks_public_endpoint"), std::string::npos);
  }
}

}  // namespace
}  // namespace gyre::auth
