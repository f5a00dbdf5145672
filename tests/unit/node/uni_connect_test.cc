#include <gtest/gtest.h>

#include "node/client.h"

// Failed unidirectional connects become disconnects (reference.md §1.9).
namespace gyre::node {
namespace {

TEST(UniConnectTest, DefaultMappingOfConnectErrors) {
  config::Config cfg;
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {109, "token expired"}),
            (Disconnect{3005, "connection expired"}));
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {110, "expired"}),
            (Disconnect{3005, "connection expired"}));
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {111, "too many requests"}),
            (Disconnect{3013, "too many requests"}));
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {103, "permission denied"}),
            (Disconnect{3507, "permission denied"}));
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {100, "internal server error"}),
            (Disconnect{3004, "internal server error"}));
}

TEST(UniConnectTest, TransformsOverrideWhenEnabled) {
  config::Config cfg;
  cfg.client_connect_code_to_unidirectional_disconnect.transforms.push_back(
      {109, 4501, "custom", 0, ""});
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {109, "token expired"}).code, 3005u);
  cfg.client_connect_code_to_unidirectional_disconnect.enabled = true;
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {109, "token expired"}),
            (Disconnect{4501, "custom"}));
  EXPECT_EQ(unidirectional_connect_disconnect(cfg, {110, "expired"}).code, 3005u);
}

}  // namespace
}  // namespace gyre::node
