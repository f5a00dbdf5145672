#include "auth/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "core/base64.h"

namespace gyre::auth {
namespace {

// Worked examples of server-api.md §3.6 (secret "secret").
constexpr const char* kExampleA =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwiaW5mbyI6eyJuYW1l"
    "IjoiQWxpY2UifX0.E1L7LumGehBw9ztjyg2t8yOUpuaHeLOxJnwAZZMCmg0";
constexpr const char* kExampleAPayload = R"({"sub":"42","exp":4102444800,"info":{"name":"Alice"}})";
constexpr const char* kExampleB =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.79CVgMIG_JB921dVUeJDWNJubJojFodH3-XtC_"
    "1C408";
constexpr const char* kExampleBHs384 =
    "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9._XqjM_YHAu4CWMH7hzfxehwzIF-"
    "YR7dACRjxtIVmJX5xNtZlNRiNQT77cP9PWVPM";
constexpr const char* kExampleBHs512 =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.OOnmim08R5KPn3wNhfsu5HW2EyBxHZKIDBHSjSRD"
    "rCOhWlmKZr9e10Ktf-JcrAjCDBi6c-wB5_5HlUnSd2KN1g";
constexpr const char* kExampleC =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTAwMDAwMDAwMH0.VyM4XOSE5PahW3hkx"
    "JnSIZ5pQ85f3vRSofg8OL_h9nQ";
constexpr const char* kExampleD =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImNoYW5uZWwiOiIkZ29zc2lwcyIsImV4cCI6NDEwM"
    "jQ0NDgwMH0.SnJZlcft-WPyvueaJORyvW7s4nxeMBuqtfvxYACqopM";
constexpr const char* kExampleE =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwiY2hhbm5lbHMiOlsib"
    "mV3cyJdLCJtZXRhIjp7InJvbGUiOiJhZG1pbiJ9LCJzdWJzIjp7InBlcnNvbmFsOjQyIjp7ImRhdGEiOnsid2VsY29tZSI"
    "6dHJ1ZX19fX0.Yv6eDKUzKcic_5xuzo-A2nr64GIKhGUlAAzSNzJeVuE";
constexpr const char* kUpstream =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyNjk0IiwiaW5mbyI6eyJmaXJzdF9uYW1lIjoiQWxleGFuZ"
    "GVyIiwibGFzdF9uYW1lIjoiRW1lbGluIn19.m-TaS80RxkAiP9jH_s_h2NrKS_TDuPxJ8-z6gI7UewI";
constexpr const char* kUpstreamEmpty =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.DMCAvRgzrcf5w0Z879BsqzcrnDFKBY_GN6c3qKOUFtQ";

// 2023-11-14: after example C's exp (2001), before examples A/D/E's exp (2100).
constexpr double kNow = 1700000000.0;
constexpr const char* kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// HMAC computed here with OpenSSL directly, independent of the code under test.
std::string sign(std::string_view header, std::string_view payload,
                 std::string_view secret = "secret") {
  std::string input = base64::encode_url(header) + "." + base64::encode_url(payload);
  const EVP_MD* md = header.find("HS512") != std::string_view::npos   ? EVP_sha512()
                     : header.find("HS384") != std::string_view::npos ? EVP_sha384()
                                                                      : EVP_sha256();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64::encode_url(std::string_view(reinterpret_cast<char*>(mac), len));
}

std::string hs256(std::string_view payload) { return sign(kHs256Header, payload); }

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() {
    cfg_->token.hmac_secret_key = "secret";
    cfg_->namespaces.push_back({"personal", {}});
    cfg_->namespaces.push_back({"chat", {}});
  }

  std::unique_ptr<Verifier> verifier() { return std::make_unique<Verifier>(cfg_->token, cfg_); }

  std::expected<ConnectClaims, TokenError> connect(std::string_view token, double now = kNow) {
    return verifier()->verify_connect(token, now);
  }
  std::expected<SubscribeClaims, TokenError> subscribe(std::string_view token,
                                                       double now = kNow) {
    return verifier()->verify_subscribe(token, now);
  }
  TokenError connect_error(std::string_view token, double now = kNow) {
    auto r = connect(token, now);
    EXPECT_FALSE(r.has_value()) << "token unexpectedly accepted: " << token;
    return r ? TokenError::kInternal : r.error();
  }
  TokenError subscribe_error(std::string_view token, double now = kNow) {
    auto r = subscribe(token, now);
    EXPECT_FALSE(r.has_value()) << "token unexpectedly accepted: " << token;
    return r ? TokenError::kInternal : r.error();
  }

  std::shared_ptr<config::Config> cfg_ = std::make_shared<config::Config>();
};

// --- worked examples (server-api.md §3.6) ---

TEST_F(JwtTest, ExampleAConnectsAsUser42WithInfoAndExpiry) {
  auto c = connect(kExampleA);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
  EXPECT_EQ(c->info, R"({"name":"Alice"})");
  EXPECT_EQ(c->exp, 4102444800);
  EXPECT_FALSE(c->expire_at.has_value());
  EXPECT_EQ(c->expires_at(), 4102444800);
  EXPECT_TRUE(c->meta.empty());
  EXPECT_TRUE(c->subs.empty());
}

TEST_F(JwtTest, MakeHs256TokenReproducesExampleA) {
  EXPECT_EQ(make_hs256_token("secret", kExampleAPayload), kExampleA);
  EXPECT_EQ(make_hs256_token("secret", R"({"sub":"42"})"), kExampleB);
}

TEST_F(JwtTest, ExampleBMinimalTokenNeverExpires) {
  auto c = connect(kExampleB);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
  EXPECT_FALSE(c->exp.has_value());
  EXPECT_EQ(c->expires_at(), 0);
  EXPECT_TRUE(c->info.empty());
}

TEST_F(JwtTest, ExampleBVerifiesWithHs384AndHs512) {
  for (const char* token : {kExampleBHs384, kExampleBHs512}) {
    auto c = connect(token);
    ASSERT_TRUE(c.has_value()) << token;
    EXPECT_EQ(c->user, "42");
  }
}

TEST_F(JwtTest, ExampleCIsExpiredWithTheRightSecret) {
  EXPECT_EQ(connect_error(kExampleC), TokenError::kExpired);
}

TEST_F(JwtTest, ExampleCIsInvalidWithAWrongSecretBecauseSignatureComesFirst) {
  cfg_->token.hmac_secret_key = "other";
  EXPECT_EQ(connect_error(kExampleC), TokenError::kInvalid);
}

TEST_F(JwtTest, ExampleDIsASubscriptionTokenForGossips) {
  auto s = subscribe(kExampleD);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->user, "42");
  EXPECT_EQ(s->channel, "$gossips");
  EXPECT_EQ(s->exp, 4102444800);
  EXPECT_EQ(s->expires_at(), 4102444800);
  EXPECT_TRUE(s->client.empty());
}

TEST_F(JwtTest, ExampleDIsInvalidAsAConnectionToken) {
  EXPECT_EQ(connect_error(kExampleD), TokenError::kInvalid);
}

TEST_F(JwtTest, ExampleESubsWinOverChannels) {
  auto c = connect(kExampleE);
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->subs.size(), 1u);
  EXPECT_EQ(c->subs[0].first, "personal:42");
  EXPECT_EQ(c->subs[0].second.data, R"({"welcome":true})");
  EXPECT_TRUE(c->subs[0].second.info.empty());
  EXPECT_EQ(c->meta, R"({"role":"admin"})");
  EXPECT_EQ(c->expires_at(), 4102444800);
}

TEST_F(JwtTest, ExampleEWithoutPersonalNamespaceIsUnknownChannel) {
  cfg_->namespaces.clear();
  EXPECT_EQ(connect_error(kExampleE), TokenError::kUnknownChannel);
}

TEST_F(JwtTest, UpstreamVectorConnectsWithInfo) {
  auto c = connect(kUpstream);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "2694");
  EXPECT_EQ(c->info, R"({"first_name":"Alexander","last_name":"Emelin"})");
  EXPECT_EQ(c->expires_at(), 0);
}

TEST_F(JwtTest, EmptyPayloadIsAnAnonymousConnection) {
  auto c = connect(kUpstreamEmpty);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "");
  EXPECT_TRUE(c->subs.empty());
}

// --- step 1: token format ---

TEST_F(JwtTest, MalformedTokensAreInvalid) {
  std::string good = hs256(R"({"sub":"42"})");
  size_t dot1 = good.find('.');
  size_t dot2 = good.rfind('.');
  const std::string cases[] = {
      "",
      "eyJ",
      "abc." + good.substr(dot1 + 1),                  // no eyJ prefix
      good.substr(0, dot2),                            // one dot
      good.substr(0, dot1) + "." + good.substr(dot2 + 1),  // one dot, no payload
      good + "=",                                      // padding in the signature
      good.substr(0, dot2) + "=" + good.substr(dot2),  // padding in the payload
      good.substr(0, dot1) + ".e30." + good.substr(dot2 + 1) + ".",  // extra dot in payload
      good.substr(0, dot1) + "." + "e3*" + good.substr(dot2),        // bad base64url char
      good.substr(0, dot1) + "." + "e" + good.substr(dot2),          // impossible length
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.+/+/",                   // std alphabet
  };
  for (const std::string& token : cases) {
    EXPECT_EQ(connect_error(token), TokenError::kInvalid) << token;
  }
}

TEST_F(JwtTest, BadHeadersAreInvalid) {
  const char* headers[] = {
      R"({"alg":"HS256")",          // truncated
      R"({"alg":256})",             // alg not a string
      R"({"alg":"HS256","typ":1})",  // typ not a string
      R"({"alg":"HS256","kid":{}})",
      R"({"alg":"HS256"} x)",        // trailing garbage
      R"({"typ":"JWT"})",           // no alg: no verifier matches
  };
  for (const char* header : headers) {
    EXPECT_EQ(connect_error(sign(header, R"({"sub":"42"})")), TokenError::kInvalid) << header;
  }
}

TEST_F(JwtTest, HeaderTypIsNotChecked) {
  auto c = connect(sign(R"({"alg":"HS256","typ":"whatever","cty":"x","kid":"k"})",
                        R"({"sub":"42"})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
}

TEST_F(JwtTest, NonJsonOrNonObjectPayloadsAreInvalid) {
  const char* payloads[] = {
      "", "[]", R"("sub")", "42", "true", R"({"sub":"42")", R"({"sub":"42"}})",
      R"({"sub":"42",})", R"({"sub":"4\x"})", "{\"sub\":\"\xff\xfe\"}", R"({"x":[1,tru]})",
  };
  for (const char* payload : payloads) {
    EXPECT_EQ(connect_error(hs256(payload)), TokenError::kInvalid) << payload;
  }
}

TEST_F(JwtTest, NullPayloadIsAnAnonymousConnectionAsInGo) {
  auto c = connect(hs256("null"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "");
}

TEST_F(JwtTest, HostileInputIsInvalidWithoutCrashing) {
  std::string huge = "eyJ" + std::string(8 << 20, 'A') + "." + std::string(1000, 'B') + ".C";
  EXPECT_EQ(connect_error(huge), TokenError::kInvalid);
  std::string deep = R"({"sub":"42","x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  EXPECT_EQ(connect_error(hs256(deep)), TokenError::kInvalid);
  std::string deep_info = R"({"info":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_EQ(connect_error(hs256(deep_info)), TokenError::kInvalid);
  EXPECT_EQ(connect_error(std::string("eyJ\0.\0.\0", 9)), TokenError::kInvalid);
}

TEST_F(JwtTest, RandomlyMutatedPayloadsNeverCrash) {
  // Signature checks off so that every mutation reaches the JSON decoder.
  cfg_->client_insecure_skip_token_signature_verify = true;
  cfg_->token.user_id_claim = "uid";
  auto v = verifier();
  const std::string seed =
      R"({"sub":"42","uid":1.5e2,"exp":4102444800,"nbf":1.5,"aud":["a"],"info":{"x":[1,"y"]},)"
      R"("b64info":"AAE=","channels":["news"],"subs":{"chat:1":{"b64data":"eA==",)"
      R"("override":{"presence":{"value":true}}}},"meta":null,"channel":"","expire_at":5})";
  const std::string alphabet = "{}[]\":,.-+eE0123456789 nulltruefalse\\u\xff";
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string payload = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % payload.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          payload[pos] = c;
          break;
        case 1:
          payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(pos), c);
          break;
        default:
          payload.erase(pos, 1);
          break;
      }
    }
    std::string token = base64::encode_url(kHs256Header) + "." + base64::encode_url(payload) +
                        ".sig";
    accepted += v->verify_connect(token, kNow).has_value() ? 1 : 0;
    accepted += v->verify_subscribe(token, kNow).has_value() ? 1 : 0;
  }
  // Most single edits break the JSON; some (inside strings) do not.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 40000);
}

TEST_F(JwtTest, LargeValidTokenIsAccepted) {
  std::string payload = R"({"sub":"42","info":")" + std::string(200000, 'x') + R"("})";
  auto c = connect(hs256(payload));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->info.size(), 200002u);
}

// --- step 2: claim types ---

TEST_F(JwtTest, ClaimTypeErrorsAreInvalid) {
  const char* payloads[] = {
      R"({"sub":42})",
      R"({"sub":["42"]})",
      R"({"iss":1})",
      R"({"jti":1})",
      R"({"aud":1})",
      R"({"aud":["a",1]})",
      R"({"aud":null})",  // jwt.Audience rejects null
      R"({"exp":"soon"})",
      R"({"exp":true})",
      R"({"exp":{}})",
      R"({"nbf":[]})",
      R"({"iat":"x"})",
      R"({"expire_at":1.5})",
      R"({"expire_at":1e3})",
      R"({"expire_at":"100"})",
      R"({"expire_at":99999999999999999999})",
      R"({"channels":"news"})",
      R"({"channels":["news",1]})",
      R"({"subs":[]})",
      R"({"subs":{"news":"x"}})",
      R"({"subs":{"news":{"b64info":1}}})",
      R"({"subs":{"news":{"override":{"presence":true}}}})",
      R"({"subs":{"news":{"override":{"presence":{"value":"yes"}}}}})",
      R"({"subs":{"news":{"override":[]}}})",
      R"({"b64info":1})",
      R"({"channel":1})",
  };
  for (const char* payload : payloads) {
    EXPECT_EQ(connect_error(hs256(payload)), TokenError::kInvalid) << payload;
  }
}

TEST_F(JwtTest, UnknownClaimsAreIgnoredWhateverTheirType) {
  auto c = connect(hs256(R"({"sub":"42","foo":{"bar":[1,2,null]},"data":5,"client":7})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
}

TEST_F(JwtTest, NullClaimsKeepTheirDefaults) {
  auto c = connect(hs256(
      R"({"sub":"42","sub":null,"exp":null,"nbf":null,"expire_at":null,"channels":null,)"
      R"("subs":null,"b64info":null})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");  // null leaves a Go string unchanged
  EXPECT_FALSE(c->exp.has_value());
  EXPECT_FALSE(c->expire_at.has_value());
  EXPECT_TRUE(c->subs.empty());
}

TEST_F(JwtTest, NullRawJsonIsCapturedAsNull) {
  auto c = connect(hs256(R"({"info":null,"meta":null})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->info, "null");
  EXPECT_EQ(c->meta, "null");
}

TEST_F(JwtTest, RawJsonKeepsExactBytes) {
  auto c = connect(hs256(R"({"info" :  { "a" : [1, 2.50, "\u00e9"] } , "meta": "m" })"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->info, R"({ "a" : [1, 2.50, "\u00e9"] })");
  EXPECT_EQ(c->meta, R"("m")");
  auto n = connect(hs256(R"({"info":12.0 ,"meta":true})"));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->info, "12.0");
  EXPECT_EQ(n->meta, "true");
}

TEST_F(JwtTest, DuplicateKeysLastWins) {
  auto c = connect(hs256(R"({"sub":"1","info":{"a":1},"sub":"2","info":[2]})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "2");
  EXPECT_EQ(c->info, "[2]");
}

TEST_F(JwtTest, KeysMatchCaseInsensitivelyAsInGo) {
  auto c = connect(hs256(R"({"SUB":"42","Info":{"x":1},"EXP":4102444800})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
  EXPECT_EQ(c->info, R"({"x":1})");
  EXPECT_EQ(c->exp, 4102444800);
}

TEST_F(JwtTest, EscapedStringsAreUnescaped) {
  auto c = connect(hs256(R"({"sub":"a\"b\u00e9\ud83d\ude00"})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_F(JwtTest, NumericDateMayBeAQuotedNumberAsJsonNumberAllows) {
  auto c = connect(hs256(R"({"exp":"4102444800.5"})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->exp, 4102444800);
  EXPECT_EQ(connect_error(hs256(R"({"exp":"1000000000"})")), TokenError::kExpired);
  EXPECT_EQ(connect_error(hs256(R"({"exp":" 1"})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"exp":"01"})")), TokenError::kInvalid);
}

// --- steps 3-6: audience and issuer ---

TEST_F(JwtTest, AudienceMustContainTheConfiguredValue) {
  cfg_->token.audience = "gyre";
  EXPECT_TRUE(connect(hs256(R"({"aud":"gyre"})")).has_value());
  EXPECT_TRUE(connect(hs256(R"({"aud":["x","gyre"]})")).has_value());
  EXPECT_EQ(connect_error(hs256(R"({"aud":"gyre2"})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"aud":["Gyre"]})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"sub":"42"})")), TokenError::kInvalid);
}

TEST_F(JwtTest, AudienceIsIgnoredWhenNotConfigured) {
  EXPECT_TRUE(connect(hs256(R"({"aud":["anything"]})")).has_value());
}

TEST_F(JwtTest, AudienceCheckPrecedesExpiry) {
  cfg_->token.audience = "gyre";
  EXPECT_EQ(connect_error(hs256(R"({"aud":"x","exp":1})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"aud":"gyre","exp":1})")), TokenError::kExpired);
}

TEST_F(JwtTest, IssuerMustMatchExactly) {
  cfg_->token.issuer = "auth.example.com";
  EXPECT_TRUE(connect(hs256(R"({"iss":"auth.example.com"})")).has_value());
  EXPECT_EQ(connect_error(hs256(R"({"iss":"auth.example.com."})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"sub":"1"})")), TokenError::kInvalid);
}

TEST_F(JwtTest, IssuerRegexIsAnUnanchoredSearch) {
  cfg_->token.issuer_regex = R"(tenant-(?P<tenant>\d+)\.example)";
  EXPECT_TRUE(connect(hs256(R"({"iss":"https://tenant-7.example.com"})")).has_value());
  EXPECT_EQ(connect_error(hs256(R"({"iss":"https://tenant-x.example.com"})")),
            TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"sub":"1"})")), TokenError::kInvalid);
  cfg_->token.issuer_regex = "^a$";
  EXPECT_EQ(connect_error(hs256(R"({"iss":"ba"})")), TokenError::kInvalid);
  EXPECT_TRUE(connect(hs256(R"({"iss":"a"})")).has_value());
}

TEST_F(JwtTest, AudienceRegexNeedsOneMatchingElement) {
  cfg_->token.audience_regex = "^project-[a-z]+$";
  EXPECT_TRUE(connect(hs256(R"({"aud":["x","project-abc"]})")).has_value());
  EXPECT_TRUE(connect(hs256(R"({"aud":"project-q"})")).has_value());
  EXPECT_EQ(connect_error(hs256(R"({"aud":["project-1","y"]})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"sub":"1"})")), TokenError::kInvalid);
}

TEST_F(JwtTest, BadRegexThrowsNamingTheOption) {
  cfg_->token.issuer_regex = "(";
  try {
    verifier();
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("token_issuer_regex: ")) << e.what();
  }
  cfg_->token.issuer_regex.clear();
  cfg_->subscription_token.audience_regex = "[";
  try {
    Verifier v(cfg_->subscription_token, cfg_);
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("subscription_token_audience_regex: "))
        << e.what();
  }
}

TEST_F(JwtTest, ExactAndRegexOptionsTogetherThrow) {
  cfg_->token.audience = "a";
  cfg_->token.audience_regex = "a";
  EXPECT_THROW(verifier(), std::runtime_error);
  cfg_->token.audience_regex.clear();
  cfg_->token.issuer = "a";
  cfg_->token.issuer_regex = "a";
  EXPECT_THROW(verifier(), std::runtime_error);
}

TEST_F(JwtTest, JwksEndpointMustBeHttp) {
  cfg_->token.jwks_public_endpoint = "https://example.com/jwks";
  EXPECT_NO_THROW(verifier());
  cfg_->token.jwks_public_endpoint = "example.com/jwks";
  try {
    verifier();
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "token_jwks_public_endpoint: endpoint must have http:// or https:// scheme, got: "
                 "example.com/jwks");
  }
}

// --- step 7: signature (HMAC here; RSA/ECDSA in jws_test.cc) ---

TEST_F(JwtTest, TamperedTokensAreInvalid) {
  std::string good = hs256(R"({"sub":"42"})");
  size_t dot1 = good.find('.');
  size_t dot2 = good.rfind('.');
  std::string other_payload = good.substr(0, dot1) + "." +
                              base64::encode_url(R"({"sub":"43"})") + good.substr(dot2);
  EXPECT_EQ(connect_error(other_payload), TokenError::kInvalid);
  std::string bad_sig = good;
  bad_sig[dot2 + 5] = bad_sig[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(connect_error(bad_sig), TokenError::kInvalid);
  EXPECT_EQ(connect_error(good.substr(0, dot2 + 1)), TokenError::kInvalid);  // no signature
  EXPECT_EQ(connect_error(good.substr(0, good.size() - 4)), TokenError::kInvalid);  // truncated
}

TEST_F(JwtTest, SignatureCoversTheReceivedBytesNotReserializedJson) {
  // Same claims, different bytes: a signature over one spelling fails for the other.
  std::string a = hs256(R"({"sub":"42"})");
  std::string b = hs256(R"({ "sub" : "42" })");
  std::string mixed = b.substr(0, b.rfind('.')) + a.substr(a.rfind('.'));
  EXPECT_EQ(connect_error(mixed), TokenError::kInvalid);
  EXPECT_TRUE(connect(b).has_value());
}

TEST_F(JwtTest, HmacTokensNeedTheSecret) {
  cfg_->token.hmac_secret_key.clear();
  EXPECT_EQ(connect_error(kExampleB), TokenError::kInvalid);
}

TEST_F(JwtTest, AlgNoneAndUnsupportedAlgsAreInvalid) {
  std::string payload = base64::encode_url(R"({"sub":"42"})");
  EXPECT_EQ(connect_error(base64::encode_url(R"({"alg":"none"})") + "." + payload + "."),
            TokenError::kInvalid);
  for (const char* alg : {"hs256", "HS257", "PS256", "EdDSA", ""}) {
    std::string header = std::string(R"({"alg":")") + alg + R"("})";
    EXPECT_EQ(connect_error(sign(header, R"({"sub":"42"})")), TokenError::kInvalid) << alg;
  }
}

TEST_F(JwtTest, HeaderAlgSelectsTheHashSoAMismatchedAlgFails) {
  // An HS256 MAC presented as HS512: a 32-byte MAC never verifies as a 64-byte one.
  std::string token = hs256(R"({"sub":"42"})");
  std::string relabeled = base64::encode_url(R"({"alg":"HS512","typ":"JWT"})") +
                          token.substr(token.find('.'));
  EXPECT_EQ(connect_error(relabeled), TokenError::kInvalid);
}

TEST_F(JwtTest, SkipSignatureVerifyAcceptsAnySignatureButKeepsOtherChecks) {
  cfg_->client_insecure_skip_token_signature_verify = true;
  cfg_->token.hmac_secret_key.clear();
  std::string payload = base64::encode_url(R"({"sub":"42"})");
  auto c = connect(base64::encode_url(R"({"alg":"none"})") + "." + payload + ".");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "42");
  EXPECT_TRUE(connect(kExampleB).has_value());
  EXPECT_EQ(connect_error(kExampleC), TokenError::kExpired);
  EXPECT_EQ(connect_error(kExampleD), TokenError::kInvalid);
  EXPECT_EQ(connect_error(sign(kHs256Header, R"({"sub":1})")), TokenError::kInvalid);
}

// --- step 8: channel claim in a connection token ---

TEST_F(JwtTest, ConnectionTokenWithChannelIsInvalidEvenWhenExpired) {
  EXPECT_EQ(connect_error(hs256(R"({"sub":"42","channel":"news"})")), TokenError::kInvalid);
  // Step 8 runs before the time check.
  EXPECT_EQ(connect_error(hs256(R"({"channel":"news","exp":1})")), TokenError::kInvalid);
  // An empty channel claim is allowed.
  EXPECT_TRUE(connect(hs256(R"({"sub":"42","channel":""})")).has_value());
}

// --- step 9: time ---

TEST_F(JwtTest, ExpIsComparedWithSubSecondPrecisionAndNoLeeway) {
  std::string token = hs256(R"({"exp":1700000000.5})");
  auto c = connect(token, 1700000000.4);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->exp, 1700000000);
  EXPECT_EQ(connect_error(token, 1700000000.5), TokenError::kExpired);  // exp == now
  EXPECT_EQ(connect_error(token, 1700000000.6), TokenError::kExpired);
}

TEST_F(JwtTest, NbfMustBeStrictlyInThePast) {
  std::string token = hs256(R"({"sub":"42","nbf":1700000000})");
  EXPECT_TRUE(connect(token, 1700000000.001).has_value());
  EXPECT_EQ(connect_error(token, 1700000000.0), TokenError::kExpired);  // nbf == now
  EXPECT_EQ(connect_error(token, 1699999999.0), TokenError::kExpired);
}

TEST_F(JwtTest, IatIsNotChecked) {
  EXPECT_TRUE(connect(hs256(R"({"sub":"42","iat":4102444800})")).has_value());
}

TEST_F(JwtTest, ExpiredWinsOverUnknownChannelAndBadBase64) {
  EXPECT_EQ(connect_error(hs256(R"({"exp":1,"channels":["nope:1"],"b64info":"!"})")),
            TokenError::kExpired);
}

// --- step 10: connection claims ---

TEST_F(JwtTest, ExpireAtOverridesExpForTheExpiry) {
  auto c = connect(hs256(R"({"exp":4102444800,"expire_at":4000000000})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expire_at, 4000000000);
  EXPECT_EQ(c->expires_at(), 4000000000);
}

TEST_F(JwtTest, ExpireAtZeroOrNegativeMeansNeverExpire) {
  for (const char* payload : {R"({"exp":4102444800,"expire_at":0})",
                              R"({"exp":4102444800,"expire_at":-5})"}) {
    auto c = connect(hs256(payload));
    ASSERT_TRUE(c.has_value()) << payload;
    EXPECT_TRUE(c->expire_at.has_value());
    EXPECT_EQ(c->expires_at(), 0) << payload;
  }
}

TEST_F(JwtTest, ExpireAtInThePastDoesNotMakeTheTokenExpired) {
  // Only exp/nbf decide EXPIRED; the caller answers 110 for a past expiry.
  auto c = connect(hs256(R"({"sub":"42","expire_at":1000})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expires_at(), 1000);
}

TEST_F(JwtTest, B64InfoWinsOverInfo) {
  auto c = connect(hs256(R"({"info":{"a":1},"b64info":"AAEC/w=="})"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->info, std::string("\x00\x01\x02\xff", 4));
  auto empty = connect(hs256(R"({"info":{"a":1},"b64info":""})"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->info, R"({"a":1})");
}

TEST_F(JwtTest, BadTopLevelB64InfoIsInternalError) {
  for (const char* b64 : {"!!!!", "AAE", "AAE=A===", "AA-_"}) {
    std::string payload = std::string(R"({"sub":"42","b64info":")") + b64 + R"("})";
    EXPECT_EQ(connect_error(hs256(payload)), TokenError::kInternal) << b64;
  }
}

TEST_F(JwtTest, ChannelsGetDefaultOptionsInTokenOrderOnce) {
  auto c = connect(hs256(R"({"channels":["news","chat:1","$personal:2","news",null]})"));
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->subs.size(), 4u);
  EXPECT_EQ(c->subs[0].first, "news");
  EXPECT_EQ(c->subs[1].first, "chat:1");
  EXPECT_EQ(c->subs[2].first, "$personal:2");
  EXPECT_EQ(c->subs[3].first, "");  // a null element decodes to "" in Go
  for (const auto& [channel, options] : c->subs) {
    EXPECT_TRUE(options.info.empty());
    EXPECT_TRUE(options.data.empty());
    EXPECT_FALSE(options.override.presence.has_value());
  }
}

TEST_F(JwtTest, SubsKeepTokenOrderAndDecodeOptions) {
  auto c = connect(hs256(
      R"({"subs":{"chat:b":{"info":{"i":1},"b64data":"eA=="},)"
      R"("news":{"b64info":"eQ==","data":"d","override":{"presence":{"value":true},)"
      R"("join_leave":{"value":false},"force_push_join_leave":{},)"
      R"("force_recovery":{"value":true},"force_positioning":null}},)"
      R"("chat:a":null},"channels":["ignored"]})"));
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->subs.size(), 3u);
  EXPECT_EQ(c->subs[0].first, "chat:b");
  EXPECT_EQ(c->subs[0].second.info, R"({"i":1})");
  EXPECT_EQ(c->subs[0].second.data, "x");
  EXPECT_EQ(c->subs[1].first, "news");
  EXPECT_EQ(c->subs[1].second.info, "y");
  EXPECT_EQ(c->subs[1].second.data, R"("d")");
  const SubscribeOptionOverride& o = c->subs[1].second.override;
  EXPECT_EQ(o.presence, true);
  EXPECT_EQ(o.join_leave, false);
  EXPECT_EQ(o.force_push_join_leave, false);  // present without value -> false
  EXPECT_EQ(o.force_recovery, true);
  EXPECT_FALSE(o.force_positioning.has_value());
  EXPECT_EQ(c->subs[2].first, "chat:a");
  EXPECT_TRUE(c->subs[2].second.info.empty());
}

TEST_F(JwtTest, RepeatedSubsChannelKeepsPositionAndTakesTheLastValue) {
  auto c = connect(hs256(
      R"({"subs":{"a":{"info":1,"override":{"presence":{"value":true}}},"b":{},"a":{"data":2}}})"));
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->subs.size(), 2u);
  EXPECT_EQ(c->subs[0].first, "a");
  EXPECT_TRUE(c->subs[0].second.info.empty());
  EXPECT_EQ(c->subs[0].second.data, "2");
  EXPECT_FALSE(c->subs[0].second.override.presence.has_value());
  EXPECT_EQ(c->subs[1].first, "b");
}

TEST_F(JwtTest, EmptySubsFallsBackToChannels) {
  auto c = connect(hs256(R"({"subs":{},"channels":["news"]})"));
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->subs.size(), 1u);
  EXPECT_EQ(c->subs[0].first, "news");
}

TEST_F(JwtTest, UnknownNamespaceInSubsOrChannelsIsUnknownChannel) {
  EXPECT_EQ(connect_error(hs256(R"({"channels":["news","nope:1"]})")),
            TokenError::kUnknownChannel);
  EXPECT_EQ(connect_error(hs256(R"({"subs":{"$nope:1":{}}})")), TokenError::kUnknownChannel);
  // Channels are checked only from the list in use.
  EXPECT_TRUE(connect(hs256(R"({"subs":{"news":{}},"channels":["nope:1"]})")).has_value());
}

TEST_F(JwtTest, NamespaceResolutionFollowsConfiguredPrefixAndBoundary) {
  cfg_->channel_private_prefix = "private-";
  cfg_->channel_namespace_boundary = "/";
  EXPECT_TRUE(connect(hs256(R"({"channels":["private-chat/1","chat/2","a:b"]})")).has_value());
  EXPECT_EQ(connect_error(hs256(R"({"channels":["$chat/1"]})")), TokenError::kUnknownChannel);
  cfg_->channel_namespace_boundary.clear();
  EXPECT_TRUE(connect(hs256(R"({"channels":["nope:1"]})")).has_value());
}

TEST_F(JwtTest, BadBase64InSubsIsInvalid) {
  EXPECT_EQ(connect_error(hs256(R"({"subs":{"news":{"b64info":"@"}}})")), TokenError::kInvalid);
  EXPECT_EQ(connect_error(hs256(R"({"subs":{"news":{"b64data":"AAE"}}})")),
            TokenError::kInvalid);
  // The namespace is checked before the options of the same entry.
  EXPECT_EQ(connect_error(hs256(R"({"subs":{"nope:1":{"b64info":"@"}}})")),
            TokenError::kUnknownChannel);
}

// --- step 11: user ID ---

TEST_F(JwtTest, UserIdClaimReadsStringsAndNumbers) {
  cfg_->token.user_id_claim = "user_id";
  struct Case {
    const char* payload;
    const char* user;
  };
  const Case cases[] = {
      {R"({"sub":"42","user_id":"u-1"})", "u-1"},
      {R"({"sub":"42","user_id":12345678901})", "12345678901"},
      {R"({"user_id":-7})", "-7"},
      {R"({"user_id":1.50})", "1.5"},
      {R"({"user_id":1e3})", "1000"},
      {R"({"user_id":true})", "true"},
      {R"({"user_id":null})", ""},
      {R"({"user_id":{"a": 1}})", R"({"a": 1})"},
      {R"({"sub":"42"})", ""},
      {R"({"USER_ID":"x"})", ""},                  // case-sensitive lookup
      {R"({"user_id":"first","user_id":"second"})", "first"},  // gjson takes the first
  };
  for (const Case& c : cases) {
    auto r = connect(hs256(c.payload));
    ASSERT_TRUE(r.has_value()) << c.payload;
    EXPECT_EQ(r->user, c.user) << c.payload;
  }
}

TEST_F(JwtTest, UserIdClaimAppliesToSubscriptionTokens) {
  cfg_->token.user_id_claim = "uid";
  auto s = subscribe(hs256(R"({"sub":"42","uid":99,"channel":"news"})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->user, "99");
}

// --- subscription tokens ---

TEST_F(JwtTest, SubscriptionTokenDecodesAllClaims) {
  auto s = subscribe(hs256(
      R"({"sub":"42","channel":"chat:1","client":"c1","info":{"i":1},"data":[1],)"
      R"("override":{"join_leave":{"value":true}},"exp":4102444800,"expire_at":0,)"
      R"("channels":5,"subs":"ignored","meta":1})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->user, "42");
  EXPECT_EQ(s->channel, "chat:1");
  EXPECT_EQ(s->client, "c1");
  EXPECT_EQ(s->info, R"({"i":1})");
  EXPECT_EQ(s->data, "[1]");
  EXPECT_EQ(s->override.join_leave, true);
  EXPECT_FALSE(s->override.presence.has_value());
  EXPECT_EQ(s->exp, 4102444800);
  EXPECT_EQ(s->expires_at(), 0);
}

TEST_F(JwtTest, SubscriptionTokenB64FieldsWin) {
  auto s = subscribe(hs256(
      R"({"channel":"news","info":1,"b64info":"aQ==","data":2,"b64data":"ZA=="})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->info, "i");
  EXPECT_EQ(s->data, "d");
}

TEST_F(JwtTest, SubscriptionTokenBadBase64IsInvalid) {
  EXPECT_EQ(subscribe_error(hs256(R"({"channel":"news","b64info":"%%%%"})")),
            TokenError::kInvalid);
  EXPECT_EQ(subscribe_error(hs256(R"({"channel":"news","b64data":"a"})")),
            TokenError::kInvalid);
}

TEST_F(JwtTest, SubscriptionTokenWithoutChannelIsInvalidButExpiryComesFirst) {
  EXPECT_EQ(subscribe_error(hs256(R"({"sub":"42"})")), TokenError::kInvalid);
  EXPECT_EQ(subscribe_error(hs256(R"({"sub":"42","channel":""})")), TokenError::kInvalid);
  EXPECT_EQ(subscribe_error(hs256(R"({"sub":"42","exp":1})")), TokenError::kExpired);
}

TEST_F(JwtTest, SubscriptionTokenUnknownNamespace) {
  EXPECT_EQ(subscribe_error(hs256(R"({"channel":"nope:1"})")), TokenError::kUnknownChannel);
  EXPECT_TRUE(subscribe(hs256(R"({"channel":"$personal:1"})")).has_value());
}

TEST_F(JwtTest, SubscriptionTokenTypeErrorsAreInvalid) {
  const char* payloads[] = {
      R"({"channel":"news","client":1})",
      R"({"channel":"news","b64data":[]})",
      R"({"channel":"news","override":{"presence":{"value":1}}})",
      R"({"channel":["news"]})",
  };
  for (const char* payload : payloads) {
    EXPECT_EQ(subscribe_error(hs256(payload)), TokenError::kInvalid) << payload;
  }
}

TEST_F(JwtTest, SubscriptionTokenExpiryChecks) {
  EXPECT_EQ(subscribe_error(hs256(R"({"channel":"news","exp":1699999999.9})")),
            TokenError::kExpired);
  EXPECT_EQ(subscribe_error(hs256(R"({"channel":"news","nbf":1700000001})")),
            TokenError::kExpired);
  auto s = subscribe(hs256(R"({"channel":"news","expire_at":-1})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->expires_at(), 0);
}

TEST_F(JwtTest, SubscriptionVerifierUsesItsOwnTokenConfig) {
  cfg_->subscription_token.hmac_secret_key = "sub-secret";
  Verifier v(cfg_->subscription_token, cfg_);
  EXPECT_FALSE(v.verify_subscribe(kExampleD, kNow).has_value());
  auto s = v.verify_subscribe(sign(kHs256Header, R"({"channel":"news"})", "sub-secret"), kNow);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->channel, "news");
}

TEST_F(JwtTest, ExpiresAtHelpers) {
  ConnectClaims c;
  EXPECT_EQ(c.expires_at(), 0);
  c.exp = 10;
  EXPECT_EQ(c.expires_at(), 10);
  c.expire_at = 20;
  EXPECT_EQ(c.expires_at(), 20);
  c.expire_at = -20;
  EXPECT_EQ(c.expires_at(), 0);
  SubscribeClaims s;
  s.exp = 30;
  EXPECT_EQ(s.expires_at(), 30);
  s.expire_at = 0;
  EXPECT_EQ(s.expires_at(), 0);
}

}  // namespace
}  // namespace gyre::auth
