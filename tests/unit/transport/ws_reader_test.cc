#include "transport/ws_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// The WebSocket read state machine (RFC 6455 §5; RFC 7692 §6; client-protocol.md §2.4).
namespace gyre::transport::ws {
namespace {

std::string frame(uint8_t opcode, std::string_view payload, bool fin = true, uint8_t rsv = 0,
                  bool masked = true) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  uint8_t mbit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    out += static_cast<char>(mbit | payload.size());
  } else {
    out += static_cast<char>(mbit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  }
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  if (masked) {
    out.append(mask, 4);
  }
  for (size_t i = 0; i < payload.size(); ++i) {
    out += masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i];
  }
  return out;
}

struct Got {
  ReadEvent::Kind kind;
  std::string data;
  uint16_t code = 0;
  bool compressed = false;
  bool operator==(const Got&) const = default;
};

std::vector<Got> read_all(MessageReader& r, std::string bytes, ReadLimits limits = {},
                          size_t* consumed = nullptr) {
  std::vector<Got> out;
  size_t n = r.feed(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size(), limits,
                    [&out](const ReadEvent& e) {
                      out.push_back({e.kind, std::string(e.data), e.close_code, e.compressed});
                      return true;
                    });
  if (consumed != nullptr) {
    *consumed = n;
  }
  return out;
}

TEST(MessageReaderTest, AssemblesFragmentsAroundControlFrames) {
  MessageReader r;
  auto got = read_all(r, frame(kText, "{\"id\":", false) + frame(kPing, "p") +
                             frame(kContinuation, "1}", false) + frame(kContinuation, ""));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (Got{ReadEvent::kPing, "p"}));
  EXPECT_EQ(got[1], (Got{ReadEvent::kMessage, "{\"id\":1}"}));
  EXPECT_FALSE(r.in_message());
}

TEST(MessageReaderTest, KeepsAPartialFrameUnconsumed) {
  MessageReader r;
  std::string f = frame(kText, "hello");
  size_t consumed = 99;
  EXPECT_TRUE(read_all(r, f.substr(0, 4), {}, &consumed).empty());
  EXPECT_EQ(consumed, 0u);
  auto got = read_all(r, f, {}, &consumed);
  EXPECT_EQ(consumed, f.size());
  EXPECT_EQ(got, (std::vector<Got>{{ReadEvent::kMessage, "hello"}}));
}

TEST(MessageReaderTest, ProtocolErrors) {
  for (const std::string& bad :
       {frame(kText, "x", true, 0, false),        // unmasked client frame
        frame(kText, "x", true, 4),               // RSV1 without permessage-deflate
        frame(kText, "x", true, 2),               // RSV2
        frame(0x3, "x"),                          // reserved data opcode
        frame(0xB, "x"),                          // reserved control opcode
        frame(kPing, "x", false),                 // fragmented control frame
        frame(kPing, std::string(126, 'x')),      // control payload over 125
        frame(kContinuation, "x"),                // continuation without a message
        frame(kText, "a", false) + frame(kText, "b")}) {  // new message inside a fragmented one
    MessageReader r;
    auto got = read_all(r, bad + frame(kText, "never"));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back().kind, ReadEvent::kProtocolError);
    EXPECT_TRUE(r.failed());
    for (const auto& g : got) {
      EXPECT_NE(g.data, "never");
    }
  }
}

TEST(MessageReaderTest, SizeLimitFromTheHeaderAndAcrossFragments) {
  ReadLimits limits{10, false};
  MessageReader r;
  // Only the header of a too-long frame has arrived: refused before the payload.
  std::string head = frame(kText, std::string(11, 'x')).substr(0, 6);
  EXPECT_EQ(read_all(r, head, limits), (std::vector<Got>{{ReadEvent::kTooBig, ""}}));
  MessageReader r2;
  EXPECT_EQ(read_all(r2, frame(kText, "123456", false) + frame(kContinuation, "78901"), limits),
            (std::vector<Got>{{ReadEvent::kTooBig, ""}}));
  MessageReader r3;
  EXPECT_EQ(read_all(r3, frame(kText, "1234567890"), limits),
            (std::vector<Got>{{ReadEvent::kMessage, "1234567890"}}));
}

TEST(MessageReaderTest, CompressedMessagesWhenNegotiated) {
  MessageReader r;
  ReadLimits limits{1000, true};
  auto got = read_all(r, frame(kBinary, "ab", false, 4) + frame(kContinuation, "c"), limits);
  EXPECT_EQ(got, (std::vector<Got>{{ReadEvent::kMessage, "abc", 0, true}}));
  // RSV1 on a continuation frame is never valid.
  MessageReader r2;
  got = read_all(r2, frame(kBinary, "ab", false, 4) + frame(kContinuation, "c", true, 4), limits);
  EXPECT_EQ(got.back().kind, ReadEvent::kProtocolError);
}

TEST(MessageReaderTest, CloseCodeOrNoStatus) {
  MessageReader r;
  EXPECT_EQ(read_all(r, frame(kClose, std::string("\x0f\xa1", 2) + "bye")),
            (std::vector<Got>{{ReadEvent::kClose, std::string("\x0f\xa1", 2) + "bye", 4001}}));
  MessageReader r2;
  EXPECT_EQ(read_all(r2, frame(kClose, "")), (std::vector<Got>{{ReadEvent::kClose, "", 1000}}));
}

TEST(MessageReaderTest, StopsWhenTheHandlerSaysSo) {
  MessageReader r;
  std::string bytes = frame(kText, "a") + frame(kText, "b");
  int seen = 0;
  size_t n = r.feed(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size(), {},
                    [&seen](const ReadEvent&) {
                      ++seen;
                      return false;
                    });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(n, frame(kText, "a").size());
}

}  // namespace
}  // namespace gyre::transport::ws
