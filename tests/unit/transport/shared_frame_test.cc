#include <gtest/gtest.h>

#include "hub/fanout.h"
#include "protocol/codec.h"
#include "transport/shared_frames.h"

// The per-shard frames of a Fanout reused by the HTTP streaming and unidirectional
// transports: encoded once, re-framed per transport (client-protocol.md §2.4, §4.15).
namespace gyre::transport {
namespace {

std::shared_ptr<const hub::Fanout> pub_fanout() {
  auto pub = std::make_shared<protocol::Publication>();
  pub->data = R"({"a":1})";
  pub->offset = 2;
  return hub::make_publication_fanout("ch", pub, false, 2);
}

TEST(SharedFrameTest, BarePushStripsTheReplyWrapper) {
  EXPECT_EQ(bare_push(R"({"push":{"channel":"c","pub":{"data":1}}})"),
            R"({"channel":"c","pub":{"data":1}})");
  EXPECT_EQ(bare_push("{}"), "{}");  // not a push: unchanged
}

TEST(SharedFrameTest, JsonPlainBodyIsTheFanoutMessage) {
  auto f = pub_fanout();
  auto body = shared_push_body(*f, 1, protocol::ProtocolType::kJson, hub::Fanout::Form::kPlain);
  EXPECT_EQ(body, R"({"push":{"channel":"ch","pub":{"data":{"a":1},"offset":2}}})");
  EXPECT_EQ(body.data(), f->json.data());  // no copy
}

TEST(SharedFrameTest, ProtobufBodyIsVarintDelimitedPushWithoutWebSocketHeader) {
  auto f = pub_fanout();
  auto body =
      shared_push_body(*f, 1, protocol::ProtocolType::kProtobuf, hub::Fanout::Form::kPlain);
  std::string msg;
  protocol::protobuf_codec().encode_pub(msg, "ch", *f->pub, false);
  ASSERT_LT(msg.size(), 128u);
  ASSERT_EQ(body.size(), msg.size() + 1);
  EXPECT_EQ(static_cast<uint8_t>(body[0]), msg.size());
  EXPECT_EQ(body.substr(1), msg);
  // Built once in the shard's slot: the WebSocket frame is the same bytes plus its header.
  const SharedFrames* built = find_shared_frames(*f, 1);
  ASSERT_NE(built, nullptr);
  const std::string& frame = built->ws_pb_frame;
  EXPECT_EQ(frame.substr(frame.size() - body.size()), body);
  EXPECT_EQ(find_shared_frames(*f, 0), nullptr);  // shard 0 framed nothing
}

TEST(SharedFrameTest, UnidirectionalWebSocketFrameCarriesTheBarePush) {
  auto f = pub_fanout();
  const std::string& frame =
      shared_ws_frame(*f, 0, protocol::ProtocolType::kJson, hub::Fanout::Form::kPlain, true);
  std::string push = R"({"channel":"ch","pub":{"data":{"a":1},"offset":2}})";
  ASSERT_EQ(frame.size(), push.size() + 2);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x81);  // FIN + text
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), push.size());
  EXPECT_EQ(frame.substr(2), push);
  EXPECT_EQ(&shared_ws_frame(*f, 0, protocol::ProtocolType::kJson, hub::Fanout::Form::kPlain,
                             true),
            &frame);
}

}  // namespace
}  // namespace gyre::transport

namespace gyre::transport {
namespace {

TEST(SharedFrameTest, WritesHoldTheFanoutUntilTheLastReleases) {
  auto f = hub::make_join_fanout("ch", protocol::ClientInfo{}, 1);
  std::weak_ptr<const hub::Fanout> alive = f;
  SharedFrames& frames = shared_frames(*f, 0);
  EXPECT_EQ(&shared_frames(*f, 0), &frames);  // one per shard, created once
  frames.acquire(f);
  frames.acquire(f);
  f.reset();
  EXPECT_FALSE(alive.expired());
  frames.release();
  EXPECT_FALSE(alive.expired());
  frames.release();  // the last queued write: the Fanout (and `frames`) go
  EXPECT_TRUE(alive.expired());
}

TEST(SharedFrameTest, AppendVarintWritesBase128LittleEndianGroups) {
  std::string out;
  append_varint(out, 1);
  append_varint(out, 300);
  EXPECT_EQ(out, std::string("\x01\xAC\x02"));
}

}  // namespace
}  // namespace gyre::transport
