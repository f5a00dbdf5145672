#include "core/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace gyre {
namespace {

bool matches(std::string_view pattern, std::string_view s) {
  auto g = Glob::compile(pattern);
  EXPECT_TRUE(g.has_value()) << pattern;
  return g && g->match(s);
}

TEST(GlobTest, StarMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(matches("*", ""));
  EXPECT_TRUE(matches("*", "chat:index"));
  EXPECT_TRUE(matches("chat:*", "chat:"));
  EXPECT_TRUE(matches("chat:*", "chat:a:b"));
  EXPECT_FALSE(matches("chat:*", "news:1"));
  EXPECT_TRUE(matches("*:1", "news:1"));
  EXPECT_TRUE(matches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(matches("a*b*c", "aXXbYY"));
  EXPECT_TRUE(matches("**", "a/b/c"));  // no separators: super == any
}

TEST(GlobTest, TextMustMatchWholeString) {
  EXPECT_TRUE(matches("news", "news"));
  EXPECT_FALSE(matches("news", "news1"));
  EXPECT_FALSE(matches("news", "new"));
  EXPECT_TRUE(matches("", ""));
  EXPECT_FALSE(matches("", "a"));
}

TEST(GlobTest, QuestionMarkMatchesExactlyOneRune) {
  EXPECT_TRUE(matches("chat:?", "chat:1"));
  EXPECT_FALSE(matches("chat:?", "chat:"));
  EXPECT_FALSE(matches("chat:?", "chat:12"));
  EXPECT_TRUE(matches("?", "\xC3\xA9"));  // é is one rune
  EXPECT_TRUE(matches("??", "\xC3\xA9x"));
}

TEST(GlobTest, CharacterClasses) {
  EXPECT_TRUE(matches("[abc]1", "b1"));
  EXPECT_FALSE(matches("[abc]1", "d1"));
  EXPECT_TRUE(matches("[!abc]1", "d1"));
  EXPECT_FALSE(matches("[!abc]1", "a1"));
  EXPECT_TRUE(matches("x[a-c]", "xb"));
  EXPECT_FALSE(matches("x[a-c]", "xd"));
  EXPECT_TRUE(matches("x[!a-c]", "xd"));
  EXPECT_FALSE(matches("x[!a-c]", "xa"));
  EXPECT_TRUE(matches("[-a]", "-"));      // '-' not after the first char is literal
  EXPECT_TRUE(matches("[a!]", "!"));      // '!' only negates right after '['
  EXPECT_TRUE(matches("[\\]]", "]"));     // escaped ']'
  EXPECT_TRUE(matches("[\xC3\xA9]", "\xC3\xA9"));
}

TEST(GlobTest, Alternatives) {
  EXPECT_TRUE(matches("{chat,news}:1", "chat:1"));
  EXPECT_TRUE(matches("{chat,news}:1", "news:1"));
  EXPECT_FALSE(matches("{chat,news}:1", "feed:1"));
  EXPECT_TRUE(matches("{a*,b?}", "aXYZ"));
  EXPECT_TRUE(matches("{a*,b?}", "bX"));
  EXPECT_FALSE(matches("{a*,b?}", "bXY"));
  EXPECT_TRUE(matches("x{,y}", "x"));
  EXPECT_TRUE(matches("{a,{b,c}d}", "cd"));
}

TEST(GlobTest, SpecialsOutsideTheirContextAreLiteral) {
  EXPECT_TRUE(matches("a,b", "a,b"));
  EXPECT_TRUE(matches("a}b", "a}b"));
  EXPECT_TRUE(matches("a]b", "a]b"));
  EXPECT_TRUE(matches("a!-b", "a!-b"));
}

TEST(GlobTest, BackslashEscapes) {
  EXPECT_TRUE(matches("a\\*", "a*"));
  EXPECT_FALSE(matches("a\\*", "ab"));
  EXPECT_TRUE(matches("\\{a,b\\}", "{a,b}"));
  EXPECT_TRUE(matches("a\\?", "a?"));
  EXPECT_TRUE(matches("a\\", "a"));  // v0.2.3 drops a trailing backslash
}

TEST(GlobTest, InvalidPatternsFailToCompile) {
  for (std::string_view p : {"[", "[]", "[!]", "[a-]", "[z-a]", "[ab", "x[a-bc]", "{a,b",
                             "{a", "a\xFF"}) {
    EXPECT_FALSE(Glob::compile(p).has_value()) << p;
  }
}

TEST(GlobTest, ManyStarsStayLinear) {
  auto g = Glob::compile("*a*a*a*a*a*a*a*b");
  ASSERT_TRUE(g);
  // Work is counted in visited NFA states, not timed: at most states() per rune, so doubling
  // the subject at most doubles the work (a backtracking matcher would grow as n^7 here).
  size_t steps_255 = 0;
  EXPECT_FALSE(g->match(std::string(255, 'a'), &steps_255));
  size_t steps_510 = 0;
  EXPECT_FALSE(g->match(std::string(510, 'a'), &steps_510));
  EXPECT_GT(steps_255, 255u);
  EXPECT_LE(steps_255, 255 * g->states());
  EXPECT_LE(steps_510, 510 * g->states());
  EXPECT_LE(steps_510 * 10, steps_255 * 21);  // linear: the ratio stays about 2
}

// allowed_origins patterns (reference.md §1.2), matched against the lower-cased Origin.
TEST(GlobTest, OriginPatternsAsCentrifugoUsesThem) {
  EXPECT_TRUE(matches("https://*.example.com", "https://app.example.com"));
  EXPECT_TRUE(matches("https://*.example.com", "https://a.b.example.com"));  // * crosses dots
  EXPECT_FALSE(matches("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(matches("https://*.example.com", "http://app.example.com"));
  EXPECT_FALSE(matches("https://*.example.com", "https://app.example.com.evil.io"));
  EXPECT_TRUE(matches("http://localhost:[3-5]000", "http://localhost:4000"));
  EXPECT_FALSE(matches("http://localhost:[3-5]000", "http://localhost:6000"));
  EXPECT_TRUE(matches("https://{app,admin}.example.com", "https://admin.example.com"));
  EXPECT_FALSE(matches("https://{app,admin}.example.com", "https://api.example.com"));
  EXPECT_TRUE(matches("https://[!x]*.io", "https://a.io"));
  EXPECT_FALSE(matches("https://[!x]*.io", "https://x.io"));
  EXPECT_TRUE(matches("http://?.io", "http://a.io"));
  EXPECT_FALSE(matches("http://?.io", "http://ab.io"));
  EXPECT_TRUE(matches("*", "null"));
}

}  // namespace
}  // namespace gyre
