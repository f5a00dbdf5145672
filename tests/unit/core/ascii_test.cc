#include "core/ascii.h"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(AsciiTest, LowerFoldsOnlyAToZ) {
  EXPECT_EQ(ascii_lower("HTTPS://Upper.Example.ORG"), "https://upper.example.org");
  EXPECT_EQ(ascii_lower("@[`{ 09_-"), "@[`{ 09_-");  // neighbours of A-Z and a-z unchanged
  EXPECT_EQ(ascii_lower("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes untouched
}

TEST(AsciiTest, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(ascii_iequals("ApiKey", "apikey"));
  EXPECT_TRUE(ascii_iequals("permessage-deflate", "PerMessage-Deflate"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("apikey", "apikeys"));
  EXPECT_FALSE(ascii_iequals("[", "{"));  // '[' + 32 is '{': no folding outside A-Z
  EXPECT_FALSE(ascii_iequals("\xC3\x89", "\xC3\xA9"));
}

}  // namespace
}  // namespace gyre
