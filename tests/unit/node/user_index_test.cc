#include "node/user_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace gyre::node {
namespace {

struct Conn {
  std::string id;
  const std::string& user() const { return id; }
};

std::vector<Conn*> of(const FlatUserIndex<Conn>& ix, std::string_view user) {
  std::vector<Conn*> out;
  ix.for_each(user, [&](Conn* c) { out.push_back(c); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> users(const FlatUserIndex<Conn>& ix) {
  std::vector<std::string> out;
  ix.for_each_user([&](std::string_view u) { out.emplace_back(u); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FlatUserIndexTest, FindsEveryConnectionOfAUserAndCountsDistinctUsers) {
  Conn a1{"alice"}, a2{"alice"}, b{"bob"}, anon{""};
  FlatUserIndex<Conn> ix;
  EXPECT_EQ(ix.size(), 0u);
  ix.insert(&a1);
  ix.insert(&b);
  ix.insert(&a2);
  ix.insert(&anon);
  EXPECT_EQ(ix.size(), 4u);
  EXPECT_EQ(ix.distinct_users(), 3u);
  std::vector<Conn*> alice{&a1, &a2};
  std::sort(alice.begin(), alice.end());
  EXPECT_EQ(of(ix, "alice"), alice);
  EXPECT_EQ(of(ix, "bob"), std::vector<Conn*>{&b});
  EXPECT_TRUE(of(ix, "carol").empty());
  EXPECT_EQ(users(ix), (std::vector<std::string>{"", "alice", "bob"}));
  ix.erase(&a1);
  EXPECT_EQ(ix.distinct_users(), 3u);  // alice still has a2
  ix.erase(&a1);                       // absent: nothing
  EXPECT_EQ(ix.size(), 3u);
  ix.erase(&a2);
  EXPECT_EQ(ix.distinct_users(), 2u);
  EXPECT_TRUE(of(ix, "alice").empty());
  ix.erase(&b);
  ix.erase(&anon);
  EXPECT_EQ(ix.size(), 0u);
  EXPECT_EQ(ix.distinct_users(), 0u);
  EXPECT_TRUE(users(ix).empty());
}

TEST(FlatUserIndexTest, MatchesAMultimapUnderRandomInsertsAndErases) {
  // Growth, tombstones and reuse of their slots against std::multimap as the model.
  std::mt19937 rng(13);
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 3000; ++i) {
    conns.push_back(std::make_unique<Conn>(Conn{"u" + std::to_string(rng() % 400)}));
  }
  FlatUserIndex<Conn> ix;
  std::multimap<std::string, Conn*> model;
  std::vector<bool> in(conns.size(), false);
  for (int step = 0; step < 40000; ++step) {
    size_t k = rng() % conns.size();
    Conn* c = conns[k].get();
    if (in[k]) {
      ix.erase(c);
      auto [b, e] = model.equal_range(c->id);
      for (auto it = b; it != e; ++it) {
        if (it->second == c) {
          model.erase(it);
          break;
        }
      }
    } else {
      ix.insert(c);
      model.emplace(c->id, c);
    }
    in[k] = !in[k];
    if (step % 997 == 0) {
      ASSERT_EQ(ix.size(), model.size());
      std::vector<std::string> distinct;
      for (auto& [u, _] : model) {
        if (distinct.empty() || distinct.back() != u) {
          distinct.push_back(u);
        }
      }
      ASSERT_EQ(ix.distinct_users(), distinct.size());
      ASSERT_EQ(users(ix), distinct);
      for (const auto& u : distinct) {
        std::vector<Conn*> want;
        auto [b, e] = model.equal_range(u);
        for (auto it = b; it != e; ++it) {
          want.push_back(it->second);
        }
        std::sort(want.begin(), want.end());
        ASSERT_EQ(of(ix, u), want) << u;
      }
    }
  }
}

}  // namespace
}  // namespace gyre::node
