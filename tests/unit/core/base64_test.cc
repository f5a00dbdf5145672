#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace gyre::base64 {
namespace {

TEST(Base64Test, EncodeStdMatchesRfc4648Vectors) {
  EXPECT_EQ(encode_std(""), "");
  EXPECT_EQ(encode_std("f"), "Zg==");
  EXPECT_EQ(encode_std("fo"), "Zm8=");
  EXPECT_EQ(encode_std("foo"), "Zm9v");
  EXPECT_EQ(encode_std("foob"), "Zm9vYg==");
  EXPECT_EQ(encode_std("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode_std("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, EncodeUrlHasNoPaddingAndUsesUrlAlphabet) {
  EXPECT_EQ(encode_url("f"), "Zg");
  EXPECT_EQ(encode_url("fo"), "Zm8");
  EXPECT_EQ(encode_url("foo"), "Zm9v");
  // 0xFB 0xFF 0xBF -> "+/+/" in std, "-_-_" in url.
  EXPECT_EQ(encode_std(std::string("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(encode_url(std::string("\xfb\xff\xbf", 3)), "-_-_");
}

TEST(Base64Test, DecodeStdRoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string in = all.substr(0, n);
    auto out = decode_std(encode_std(in));
    ASSERT_TRUE(out.has_value()) << n;
    EXPECT_EQ(*out, in) << n;
    auto out_url = decode_url(encode_url(in));
    ASSERT_TRUE(out_url.has_value()) << n;
    EXPECT_EQ(*out_url, in) << n;
  }
}

TEST(Base64Test, DecodeStdAcceptsPaddedInput) {
  EXPECT_EQ(decode_std("Zg==").value(), "f");
  EXPECT_EQ(decode_std("Zm8=").value(), "fo");
  EXPECT_EQ(decode_std("Zm9vYmFy").value(), "foobar");
  EXPECT_EQ(decode_std("").value(), "");
}

TEST(Base64Test, DecodeStdRejectsMissingPadding) {
  EXPECT_FALSE(decode_std("Zg").has_value());
  EXPECT_FALSE(decode_std("Zm8").has_value());
}

TEST(Base64Test, DecodeStdRejectsMisplacedOrExcessPadding) {
  EXPECT_FALSE(decode_std("Z===").has_value());
  EXPECT_FALSE(decode_std("Zg=a").has_value());
  EXPECT_FALSE(decode_std("====").has_value());
  EXPECT_FALSE(decode_std("Zg==Zg==").has_value());
}

TEST(Base64Test, DecodeStdRejectsNonZeroTrailingBits) {
  // "Zh==" encodes 'f' with non-zero leftover bits: Go's strict decoder refuses it.
  EXPECT_FALSE(decode_std("Zh==").has_value());
  EXPECT_FALSE(decode_std("Zm9=").has_value());
}

TEST(Base64Test, DecodeStdRejectsUrlAlphabetAndWhitespace) {
  EXPECT_FALSE(decode_std("-_-_").has_value());
  EXPECT_FALSE(decode_std("Zm9v\n").has_value());
  EXPECT_FALSE(decode_std("Zm 9").has_value());
}

TEST(Base64Test, DecodeUrlRejectsPaddingAndStdAlphabet) {
  EXPECT_FALSE(decode_url("Zg==").has_value());
  EXPECT_FALSE(decode_url("+/+/").has_value());
  EXPECT_EQ(decode_url("-_-_").value(), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64Test, DecodeUrlRejectsImpossibleLength) {
  EXPECT_FALSE(decode_url("Z").has_value());
  EXPECT_FALSE(decode_url("Zm9vY").has_value());
  EXPECT_EQ(decode_url("Zm9vYg").value(), "foob");
}

TEST(Base64Test, DecodeUrlRejectsNonZeroTrailingBits) { EXPECT_FALSE(decode_url("Zh").has_value()); }

}  // namespace
}  // namespace gyre::base64
