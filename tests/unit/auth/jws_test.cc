#include "auth/jws.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "auth/jwt.h"
#include "core/base64.h"
#include "unit/transport/self_signed_cert.h"

// RS*/ES* verification with keys generated here by OpenSSL, tokens signed here, and the
// Verifier as the consumer (server-api.md §3.2 step 7).
namespace gyre::auth {
namespace {

constexpr double kNow = 1700000000.0;
constexpr const char* kPayload = R"({"sub":"42","exp":4102444800})";

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

using test::bio_text;

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return bio_text(bio);
}

// A self-signed certificate carrying `key`.
std::string certificate_pem(EVP_PKEY* key) { return test::certificate_pem(key, "gyre-test"); }

const EVP_MD* md_for(std::string_view alg) {
  if (alg.ends_with("384")) {
    return EVP_sha384();
  }
  if (alg.ends_with("512")) {
    return EVP_sha512();
  }
  return EVP_sha256();
}

std::string digest_sign(EVP_PKEY* key, std::string_view alg, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, md_for(alg), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

// DER ECDSA-Sig-Value -> JWS R||S with each half padded to `half` bytes.
std::string der_to_jose(const std::string& der, int half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out(2 * half, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, half);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + half, half);
  ECDSA_SIG_free(sig);
  return out;
}

std::string signing_input(std::string_view alg, std::string_view payload) {
  return base64::encode_url(std::string(R"({"alg":")") + std::string(alg) +
                            R"(","typ":"JWT"})") +
         "." + base64::encode_url(payload);
}

std::string rsa_token(EVP_PKEY* key, std::string_view alg, std::string_view payload = kPayload) {
  std::string input = signing_input(alg, payload);
  return input + "." + base64::encode_url(digest_sign(key, alg, input));
}

std::string ec_token(EVP_PKEY* key, std::string_view alg, int half,
                     std::string_view payload = kPayload) {
  std::string input = signing_input(alg, payload);
  return input + "." + base64::encode_url(der_to_jose(digest_sign(key, alg, input), half));
}

// Flips one bit in the middle of the signature segment.
std::string tamper_signature(std::string token) {
  size_t i = token.rfind('.') + 10;
  token[i] = token[i] == 'A' ? 'B' : 'A';
  return token;
}

// Swaps the payload for another with the same signature.
std::string tamper_payload(const std::string& token) {
  size_t dot1 = token.find('.');
  size_t dot2 = token.rfind('.');
  return token.substr(0, dot1) + "." + base64::encode_url(R"({"sub":"43","exp":4102444800})") +
         token.substr(dot2);
}

class JwsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = EVP_RSA_gen(2048);
    p256_ = EVP_EC_gen("P-256");
    p384_ = EVP_EC_gen("P-384");
    p521_ = EVP_EC_gen("P-521");
  }
  static void TearDownTestSuite() {
    for (EVP_PKEY* k : {rsa_, p256_, p384_, p521_}) {
      EVP_PKEY_free(k);
    }
  }

  std::unique_ptr<Verifier> verifier() { return std::make_unique<Verifier>(cfg_->token, cfg_); }
  bool accepts(std::string_view token) {
    auto r = verifier()->verify_connect(token, kNow);
    return r.has_value() && r->user == "42";
  }
  TokenError error(std::string_view token) {
    auto r = verifier()->verify_connect(token, kNow);
    EXPECT_FALSE(r.has_value());
    return r ? TokenError::kInternal : r.error();
  }

  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* p256_ = nullptr;
  static inline EVP_PKEY* p384_ = nullptr;
  static inline EVP_PKEY* p521_ = nullptr;
  std::shared_ptr<config::Config> cfg_ = std::make_shared<config::Config>();
};

TEST_F(JwsTest, RsaTokensVerifyWithAPkixKey) {
  cfg_->token.rsa_public_key = public_pem(rsa_);
  for (const char* alg : {"RS256", "RS384", "RS512"}) {
    std::string token = rsa_token(rsa_, alg);
    EXPECT_TRUE(accepts(token)) << alg;
    EXPECT_EQ(error(tamper_signature(token)), TokenError::kInvalid) << alg;
    EXPECT_EQ(error(tamper_payload(token)), TokenError::kInvalid) << alg;
  }
}

TEST_F(JwsTest, RsaTokensVerifyWithACertificate) {
  cfg_->token.rsa_public_key = certificate_pem(rsa_);
  EXPECT_TRUE(accepts(rsa_token(rsa_, "RS256")));
}

TEST_F(JwsTest, RsaSignatureUnderAnotherAlgIsInvalid) {
  cfg_->token.rsa_public_key = public_pem(rsa_);
  std::string token = rsa_token(rsa_, "RS256");
  std::string relabeled = base64::encode_url(R"({"alg":"RS512","typ":"JWT"})") +
                          token.substr(token.find('.'));
  EXPECT_EQ(error(relabeled), TokenError::kInvalid);
  // PS256 is not accepted even though the key could verify it.
  EXPECT_EQ(error(rsa_token(rsa_, "PS256")), TokenError::kInvalid);
}

TEST_F(JwsTest, HmacWithThePublicKeyAsSecretIsRejected) {
  // Classic alg confusion: with only an RSA key configured, HS256 has no key at all.
  cfg_->token.rsa_public_key = public_pem(rsa_);
  EXPECT_EQ(error(make_hs256_token(cfg_->token.rsa_public_key, kPayload)), TokenError::kInvalid);
}

TEST_F(JwsTest, EcdsaTokensVerifyOnlyWithTheCurveAlg) {
  struct Case {
    EVP_PKEY* key;
    const char* alg;
    int half;
  };
  for (const Case& c : {Case{p256_, "ES256", 32}, Case{p384_, "ES384", 48},
                        Case{p521_, "ES512", 66}}) {
    cfg_->token.ecdsa_public_key = public_pem(c.key);
    std::string token = ec_token(c.key, c.alg, c.half);
    EXPECT_TRUE(accepts(token)) << c.alg;
    EXPECT_EQ(error(tamper_signature(token)), TokenError::kInvalid) << c.alg;
    EXPECT_EQ(error(tamper_payload(token)), TokenError::kInvalid) << c.alg;
  }
  // A P-256 key enables ES256 only: a P-256 signature labelled ES384 fails.
  cfg_->token.ecdsa_public_key = public_pem(p256_);
  EXPECT_EQ(error(ec_token(p256_, "ES384", 32)), TokenError::kInvalid);
  EXPECT_EQ(error(ec_token(p256_, "ES384", 48)), TokenError::kInvalid);
}

TEST_F(JwsTest, EcdsaVerifiesWithACertificate) {
  cfg_->token.ecdsa_public_key = certificate_pem(p384_);
  EXPECT_TRUE(accepts(ec_token(p384_, "ES384", 48)));
}

TEST_F(JwsTest, EcdsaDerSignatureIsInvalid) {
  cfg_->token.ecdsa_public_key = public_pem(p256_);
  std::string input = signing_input("ES256", kPayload);
  std::string der = digest_sign(p256_, "ES256", input);
  EXPECT_EQ(error(input + "." + base64::encode_url(der)), TokenError::kInvalid);
}

TEST_F(JwsTest, EcdsaZeroSignatureIsInvalid) {
  cfg_->token.ecdsa_public_key = public_pem(p256_);
  std::string input = signing_input("ES256", kPayload);
  EXPECT_EQ(error(input + "." + base64::encode_url(std::string(64, '\0'))), TokenError::kInvalid);
}

TEST_F(JwsTest, AlgWithoutAConfiguredKeyIsInvalid) {
  cfg_->token.ecdsa_public_key = public_pem(p256_);
  EXPECT_EQ(error(rsa_token(rsa_, "RS256")), TokenError::kInvalid);
  cfg_->token.ecdsa_public_key.clear();
  cfg_->token.rsa_public_key = public_pem(rsa_);
  EXPECT_EQ(error(ec_token(p256_, "ES256", 32)), TokenError::kInvalid);
}

TEST_F(JwsTest, AllKeyKindsCanBeConfiguredTogether) {
  cfg_->token.hmac_secret_key = "secret";
  cfg_->token.rsa_public_key = public_pem(rsa_);
  cfg_->token.ecdsa_public_key = public_pem(p521_);
  EXPECT_TRUE(accepts(make_hs256_token("secret", kPayload)));
  EXPECT_TRUE(accepts(rsa_token(rsa_, "RS384")));
  EXPECT_TRUE(accepts(ec_token(p521_, "ES512", 66)));
}

TEST_F(JwsTest, SubscriptionTokensUseTheSameAlgorithms) {
  cfg_->token.rsa_public_key = public_pem(rsa_);
  auto s = verifier()->verify_subscribe(
      rsa_token(rsa_, "RS256", R"({"sub":"42","channel":"news"})"), kNow);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->channel, "news");
}

TEST_F(JwsTest, UnparseableKeysThrowNamingTheOption) {
  struct Case {
    std::string rsa;
    std::string ecdsa;
    const char* option;
  };
  const Case cases[] = {
      {"not a pem", "", "token_rsa_public_key: "},
      {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "",
       "token_rsa_public_key: "},
      {public_pem(p256_), "", "token_rsa_public_key: "},  // EC key as RSA
      {"", public_pem(rsa_), "token_ecdsa_public_key: "},  // RSA key as EC
      {"", "garbage", "token_ecdsa_public_key: "},
  };
  for (const Case& c : cases) {
    cfg_->token.rsa_public_key = c.rsa;
    cfg_->token.ecdsa_public_key = c.ecdsa;
    try {
      verifier();
      ADD_FAILURE() << "expected a throw for " << c.option;
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(c.option)) << e.what();
    }
  }
}

TEST_F(JwsTest, SubscriptionKeyErrorsNameTheSubscriptionOption) {
  cfg_->subscription_token.rsa_public_key = "bad";
  try {
    Verifier v(cfg_->subscription_token, cfg_);
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("subscription_token_rsa_public_key: "))
        << e.what();
  }
}

TEST_F(JwsTest, UnsupportedCurveThrowsAndP224EnablesNoAlg) {
  Pkey k1(EVP_EC_gen("secp256k1"));
  cfg_->token.ecdsa_public_key = public_pem(k1.get());
  EXPECT_THROW(verifier(), std::runtime_error);
  // Go parses P-224 keys but no ES algorithm matches them.
  Pkey p224(EVP_EC_gen("P-224"));
  cfg_->token.ecdsa_public_key = public_pem(p224.get());
  EXPECT_EQ(error(ec_token(p224.get(), "ES256", 28)), TokenError::kInvalid);
  EXPECT_EQ(error(ec_token(p224.get(), "ES256", 32)), TokenError::kInvalid);
}

TEST_F(JwsTest, SignatureKeysVerifyDirectly) {
  config::TokenConfig token;
  token.hmac_secret_key = "k";
  SignatureKeys keys(token, "token_");
  std::string mac = hmac_sign("HS256", "k", "a.b");
  EXPECT_EQ(mac.size(), 32u);
  EXPECT_TRUE(keys.verify("HS256", "a.b", mac));
  EXPECT_FALSE(keys.verify("HS256", "a.c", mac));
  EXPECT_FALSE(keys.verify("HS256", "a.b", mac.substr(0, 31)));
  EXPECT_FALSE(keys.verify("HS384", "a.b", mac));
  EXPECT_FALSE(keys.verify("none", "a.b", ""));
  EXPECT_EQ(hmac_sign("HS384", "k", "x").size(), 48u);
  EXPECT_EQ(hmac_sign("HS512", "k", "x").size(), 64u);
  EXPECT_TRUE(hmac_sign("RS256", "k", "x").empty());
}

}  // namespace
}  // namespace gyre::auth
