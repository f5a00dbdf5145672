#include "channel/channel.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace gyre::channel {
namespace {

// Fixture for the channel name rules of server-api.md §5.1, over a config with namespaces
// "chat", "dialogs" (user-limited) and "ids" (channel_regex).
class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.namespaces.push_back({"chat", {}});
    config::Namespace dialogs{"dialogs", {}};
    dialogs.options.allow_user_limited_channels = true;
    config_.namespaces.push_back(dialogs);
    config::Namespace ids{"ids", {}};
    ids.options.channel_regex = "^[0-9]+$";
    ids.options.channel_regex_compiled = std::make_shared<re2::RE2>(ids.options.channel_regex);
    config_.namespaces.push_back(ids);
  }

  // Resolves `channel`, failing the test if its namespace is unknown.
  Resolved must_resolve(std::string_view channel) const {
    Resolved r{};
    EXPECT_TRUE(resolve(config_, channel, r)) << channel;
    return r;
  }

  bool valid(std::string_view channel) const {
    Resolved r{};
    if (!resolve(config_, channel, r)) {
      ADD_FAILURE() << "unknown namespace for " << channel;
      return false;
    }
    return valid_name(config_, channel, r);
  }

  config::Config config_;
};

TEST_F(ChannelTest, ChannelWithoutBoundaryResolvesToTopLevel) {
  Resolved r = must_resolve("news");
  EXPECT_EQ(r.namespace_name, "");
  EXPECT_EQ(r.options, &config_.channel);
  EXPECT_EQ(r.rest, "news");
  EXPECT_FALSE(r.is_private);
}

TEST_F(ChannelTest, PrivateTopLevelChannelKeepsPrefixInRest) {
  Resolved r = must_resolve("$news");
  EXPECT_EQ(r.namespace_name, "");
  EXPECT_EQ(r.options, &config_.channel);
  EXPECT_EQ(r.rest, "$news");
  EXPECT_TRUE(r.is_private);
}

TEST_F(ChannelTest, NamespaceIsTextBeforeFirstBoundary) {
  Resolved r = must_resolve("chat:index");
  EXPECT_EQ(r.namespace_name, "chat");
  EXPECT_EQ(r.options, &config_.namespaces[0].options);
  EXPECT_EQ(r.rest, "index");
  EXPECT_FALSE(r.is_private);

  Resolved nested = must_resolve("chat:a:b");
  EXPECT_EQ(nested.namespace_name, "chat");
  EXPECT_EQ(nested.rest, "a:b");
}

TEST_F(ChannelTest, PrivateNamespacedChannelStripsOnePrefix) {
  Resolved r = must_resolve("$chat:secret");
  EXPECT_EQ(r.namespace_name, "chat");
  EXPECT_EQ(r.options, &config_.namespaces[0].options);
  EXPECT_EQ(r.rest, "secret");
  EXPECT_TRUE(r.is_private);

  Resolved twice{};
  EXPECT_FALSE(resolve(config_, "$$chat:secret", twice));  // namespace "$chat"
}

TEST_F(ChannelTest, UnknownNamespaceFailsToResolve) {
  Resolved r{};
  EXPECT_FALSE(resolve(config_, "dialog#1:2", r));  // namespace "dialog#1"
  EXPECT_FALSE(resolve(config_, "unknown:x", r));
  EXPECT_FALSE(resolve(config_, "$unknown:x", r));
}

TEST_F(ChannelTest, EmptyNamespaceNameSelectsTopLevel) {
  Resolved r = must_resolve(":news");
  EXPECT_EQ(r.namespace_name, "");
  EXPECT_EQ(r.options, &config_.channel);
  EXPECT_EQ(r.rest, "news");
}

TEST_F(ChannelTest, CustomBoundariesAreHonoured) {
  config_.channel_namespace_boundary = "::";
  config_.channel_private_prefix = "private-";
  Resolved r = must_resolve("private-chat::a:b");
  EXPECT_EQ(r.namespace_name, "chat");
  EXPECT_EQ(r.rest, "a:b");
  EXPECT_TRUE(r.is_private);

  config_.channel_namespace_boundary.clear();
  Resolved no_ns = must_resolve("chat:index");
  EXPECT_EQ(no_ns.namespace_name, "");
  EXPECT_EQ(no_ns.rest, "chat:index");

  config_.channel_private_prefix.clear();
  EXPECT_FALSE(must_resolve("$news").is_private);
}

TEST_F(ChannelTest, NamesWithoutRegexMustBeAscii) {
  EXPECT_TRUE(valid("news"));
  EXPECT_TRUE(valid("chat:index-1_2.3"));
  EXPECT_TRUE(valid("$chat:a b"));
  EXPECT_FALSE(valid("news\xc3\xa9"));          // é
  EXPECT_FALSE(valid("chat:\xe4\xbd\xa0\xe5\xa5\xbd"));  // 你好
}

TEST_F(ChannelTest, RegexNamespaceMatchesRestOnly) {
  EXPECT_TRUE(valid("ids:123"));
  EXPECT_TRUE(valid("$ids:42"));
  EXPECT_FALSE(valid("ids:12a"));
  EXPECT_FALSE(valid("ids:"));
}

TEST_F(ChannelTest, UnanchoredRegexMatchesAnywhere) {
  config_.namespaces[2].options.channel_regex = "[0-9]";
  config_.namespaces[2].options.channel_regex_compiled = std::make_shared<re2::RE2>("[0-9]");
  EXPECT_TRUE(valid("ids:abc1def"));
  EXPECT_FALSE(valid("ids:abc"));
}

TEST_F(ChannelTest, RegexReplacesTheAsciiCheck) {
  config_.namespaces[2].options.channel_regex = ".+";
  config_.namespaces[2].options.channel_regex_compiled = std::make_shared<re2::RE2>(".+");
  EXPECT_TRUE(valid("ids:\xc3\xa9t\xc3\xa9"));
}

TEST_F(ChannelTest, UncompiledRegexIsStillApplied) {
  config_.namespaces[2].options.channel_regex_compiled.reset();
  EXPECT_TRUE(valid("ids:123"));
  EXPECT_FALSE(valid("ids:abc"));
}

TEST_F(ChannelTest, TopLevelRegexSeesWholeChannelIncludingPrefix) {
  config_.channel.channel_regex = "^\\$";
  config_.channel.channel_regex_compiled = std::make_shared<re2::RE2>("^\\$");
  EXPECT_TRUE(valid("$news"));
  EXPECT_FALSE(valid("news"));
}

TEST_F(ChannelTest, UserBoundaryMarksUserLimitedChannels) {
  EXPECT_TRUE(is_user_limited(config_, "dialogs:chat#42,43"));
  EXPECT_TRUE(is_user_limited(config_, "news#"));
  EXPECT_FALSE(is_user_limited(config_, "dialogs:chat"));
  config_.channel_user_boundary.clear();
  EXPECT_FALSE(is_user_limited(config_, "dialogs:chat#42,43"));
}

TEST_F(ChannelTest, AllowedUsersFollowTheLastBoundary) {
  EXPECT_TRUE(user_allowed(config_, "dialogs:chat#42,43", "42"));
  EXPECT_TRUE(user_allowed(config_, "dialogs:chat#42,43", "43"));
  EXPECT_FALSE(user_allowed(config_, "dialogs:chat#42,43", "4"));
  EXPECT_FALSE(user_allowed(config_, "dialogs:chat#42,43", "42,43"));
  EXPECT_TRUE(user_allowed(config_, "a#1#2", "2"));
  EXPECT_FALSE(user_allowed(config_, "a#1#2", "1"));
  EXPECT_FALSE(user_allowed(config_, "dialogs:chat", "42"));
}

TEST_F(ChannelTest, AnonymousUserNeverMatches) {
  EXPECT_FALSE(user_allowed(config_, "news#", ""));
  EXPECT_FALSE(user_allowed(config_, "news#42,", ""));
  EXPECT_FALSE(user_allowed(config_, "news#,42", ""));
}

TEST_F(ChannelTest, CustomUserSeparatorIsHonoured) {
  config_.channel_user_boundary = "@";
  config_.channel_user_separator = ";";
  EXPECT_TRUE(user_allowed(config_, "dm@a;b", "b"));
  EXPECT_FALSE(user_allowed(config_, "dm@a,b", "b"));
  config_.channel_user_separator.clear();
  EXPECT_TRUE(user_allowed(config_, "dm@a;b", "a;b"));
}

TEST_F(ChannelTest, PersonalChannelUsesConfiguredNamespaceAndBoundaries) {
  EXPECT_EQ(personal_channel(config_, "42"), "#42");
  config_.user_personal_channel_namespace = "personal";
  EXPECT_EQ(personal_channel(config_, "42"), "personal:#42");
  config_.channel_namespace_boundary = "/";
  config_.channel_user_boundary = "@";
  EXPECT_EQ(personal_channel(config_, "u"), "personal/@u");
}

TEST_F(ChannelTest, PersonalChannelResolvesToItsNamespaceAndIsUserLimited) {
  config_.user_personal_channel_namespace = "dialogs";
  std::string ch = personal_channel(config_, "42");
  Resolved r = must_resolve(ch);
  EXPECT_EQ(r.namespace_name, "dialogs");
  EXPECT_TRUE(is_user_limited(config_, ch));
  EXPECT_TRUE(user_allowed(config_, ch, "42"));
}

}  // namespace
}  // namespace gyre::channel
