#include "core/constant_time.h"

#include <gtest/gtest.h>

#include <string>

namespace gyre {
namespace {

TEST(ConstantTimeEqualTest, EqualOnlyForTheSameBytes) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret-api-key", "secret-api-key"));
  EXPECT_FALSE(constant_time_equal("secret-api-key", "secret-api-kez"));  // last byte
  EXPECT_FALSE(constant_time_equal("secret-api-key", "Secret-api-key"));  // first byte
  EXPECT_FALSE(constant_time_equal("secret", "secret-api-key"));          // prefix
  EXPECT_FALSE(constant_time_equal("secret-api-key", "secret"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  // Embedded NULs are bytes like any other (std::string_view, not C strings).
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace gyre
