#include "api/admin.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"

namespace gyre::api {
namespace {

// Made by Centrifugo v5.4.9 (POST /admin/auth, admin_secret "sec") at unix time 1796639335.
constexpr std::string_view kCentrifugoToken =
    "MTc5NjYzOTMzNXxEUXdBQ21GMWRHaHZjbWw2WldRPXw6V-VezVm-1--DnLR-d9sQn21E-mHwOxAI09QpvGCoRQ==";
constexpr int64_t kStamp = 1796639335;

TEST(AdminTokenTest, SameBytesAsCentrifugoForTheSameSecretAndTime) {
  EXPECT_EQ(make_admin_token("sec", kStamp), kCentrifugoToken);
  EXPECT_NE(make_admin_token("sec", kStamp + 1), kCentrifugoToken);
  EXPECT_NE(make_admin_token("other", kStamp), kCentrifugoToken);
}

TEST(AdminTokenTest, AcceptedForThirtyDaysWithItsSecretOnly) {
  EXPECT_TRUE(check_admin_token("sec", kCentrifugoToken, kStamp));
  EXPECT_TRUE(check_admin_token("sec", kCentrifugoToken, kStamp + 86400 * 30));
  EXPECT_FALSE(check_admin_token("sec", kCentrifugoToken, kStamp + 86400 * 30 + 1));
  // securecookie has no minimum age: a token from the future (clock skew) passes.
  EXPECT_TRUE(check_admin_token("sec", kCentrifugoToken, kStamp - 3600));
  EXPECT_FALSE(check_admin_token("se", kCentrifugoToken, kStamp));
  EXPECT_FALSE(check_admin_token("", kCentrifugoToken, kStamp));
  EXPECT_TRUE(check_admin_token("", make_admin_token("", kStamp), kStamp));
}

TEST(AdminTokenTest, MalformedOrTamperedTokensAreRefused) {
  for (std::string_view bad : {"", "x", "====", "MTc5NjYzOTMzNQ==", "!!!!",
                               "MTc5NjYzOTMzNXxEUXdBQ21GMWRHaHZjbWw2WldRPXw"}) {
    EXPECT_FALSE(check_admin_token("sec", bad, kStamp)) << bad;
  }
  std::string raw = *base64::decode_url(std::string(kCentrifugoToken.substr(0, kCentrifugoToken.size() - 2)));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string t = raw;
    t[i] ^= 1;
    std::string enc = base64::encode_url(t);
    while (enc.size() % 4 != 0) {
      enc.push_back('=');
    }
    EXPECT_FALSE(check_admin_token("sec", enc, kStamp)) << i;
  }
  EXPECT_FALSE(check_admin_token("sec", std::string(5000, 'A'), kStamp));
}

TEST(AdminAssetsTest, ThePageIsEmbedded) {
  bool index = false;
  for (const AdminAsset& a : admin_assets()) {
    if (a.name == "index.html") {
      index = a.data.find("<title>Gyre admin</title>") != std::string_view::npos;
    }
  }
  EXPECT_TRUE(index);
}

}  // namespace
}  // namespace gyre::api
