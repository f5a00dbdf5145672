#include "node/subscription_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace gyre::node {
namespace {

struct Sub {
  explicit Sub(std::string ch) : channel(std::move(ch)) {}
  std::string channel;
};

// Inserts as Client does: the key views the value's own string.
bool add(SubscriptionTable<Sub>& t, const std::string& ch) {
  auto s = std::make_unique<Sub>(ch);
  std::string_view key = s->channel;
  return t.emplace(key, std::move(s)).second;
}

std::vector<std::string> keys(const SubscriptionTable<Sub>& t) {
  std::vector<std::string> out;
  for (const auto& [ch, sub] : t) {
    EXPECT_EQ(ch, sub->channel);  // the key still views its own value after moves
    out.emplace_back(ch);
  }
  return out;
}

TEST(SubscriptionTableTest, IteratesInChannelOrderLikeTheMapItReplaced) {
  SubscriptionTable<Sub> t;
  EXPECT_TRUE(t.empty());
  for (const char* ch : {"m", "a", "z", "b", "chat:1"}) {
    EXPECT_TRUE(add(t, ch));
  }
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(keys(t), (std::vector<std::string>{"a", "b", "chat:1", "m", "z"}));
}

TEST(SubscriptionTableTest, FindCountAndDuplicateEmplaceKeepTheFirstValue) {
  SubscriptionTable<Sub> t;
  ASSERT_TRUE(add(t, "x"));
  Sub* first = t.find("x")->second.get();
  EXPECT_FALSE(add(t, "x"));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find("x")->second.get(), first);
  EXPECT_EQ(t.count("x"), 1u);
  EXPECT_EQ(t.count("y"), 0u);
  EXPECT_TRUE(t.find("y") == t.end());
  EXPECT_TRUE(t.find("") == t.end());
}

TEST(SubscriptionTableTest, EraseByKeyAndByIterator) {
  SubscriptionTable<Sub> t;
  for (const char* ch : {"a", "b", "c", "d"}) {
    add(t, ch);
  }
  EXPECT_EQ(t.erase("b"), 1u);
  EXPECT_EQ(t.erase("b"), 0u);
  EXPECT_EQ(keys(t), (std::vector<std::string>{"a", "c", "d"}));
  auto next = t.erase(t.find("c"));
  ASSERT_TRUE(next != t.end());
  EXPECT_EQ(next->first, "d");
  // Drained as Client::cleanup does: always the first entry.
  while (!t.empty()) {
    t.erase(t.begin());
  }
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(add(t, "again"));
  EXPECT_EQ(keys(t), (std::vector<std::string>{"again"}));
}

TEST(SubscriptionTableTest, OneEntryIsHeldInline) {
  SubscriptionTable<Sub> t;
  add(t, "only");
  const auto* self = reinterpret_cast<const char*>(&t);
  const auto* entry = reinterpret_cast<const char*>(&*t.begin());
  EXPECT_GE(entry, self);
  EXPECT_LT(entry, self + sizeof(t));  // no heap block for the first subscription
  add(t, "second");
  EXPECT_EQ(keys(t), (std::vector<std::string>{"only", "second"}));
}

}  // namespace
}  // namespace gyre::node
