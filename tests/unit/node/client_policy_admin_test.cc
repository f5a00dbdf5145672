#include <gtest/gtest.h>

#include <string>

#include "node/client_policy.h"

namespace gyre::node::policy {
namespace {

config::Config admin_config() {
  config::Config cfg;
  config::Namespace ns;
  ns.name = "ns";  // clients may not subscribe (allow_subscribe_for_client is false)
  ns.options.presence = true;
  cfg.namespaces.push_back(ns);
  return cfg;
}

// The admin live tail (ConnectionRequest::admin_channel): anonymous, one server-side
// subscription whatever the namespace allows clients, nothing taken from the request.
TEST(PlanConnectAdminTest, TheTailChannelIsAServerSideSubscription) {
  config::Config cfg = admin_config();
  protocol::ConnectRequest req;
  req.subs.emplace_back("other", protocol::SubscribeRequest{});
  auto plan = plan_connect(cfg, req, nullptr, "", false, "ns:a");
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->user, "");
  ASSERT_EQ(plan->subs.size(), 1u);
  EXPECT_EQ(plan->subs[0].channel, "ns:a");
  EXPECT_TRUE(plan->subs[0].server_side);
  EXPECT_TRUE(plan->subs[0].emit_presence);
  EXPECT_TRUE(plan->token_channels.empty());
}

TEST(PlanConnectAdminTest, UnknownNamespaceIsRefusedWith102) {
  config::Config cfg = admin_config();
  auto plan = plan_connect(cfg, protocol::ConnectRequest{}, nullptr, "", false, "nope:a");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(std::get<Error>(plan.error().failure).code, 102u);
}

TEST(PlanConnectAdminTest, WithoutTheTailAnAnonymousConnectStillNeedsCredentials) {
  config::Config cfg = admin_config();
  auto plan = plan_connect(cfg, protocol::ConnectRequest{}, nullptr, "", false);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(std::get<Disconnect>(plan.error().failure).code, 3501u);
}

}  // namespace
}  // namespace gyre::node::policy
