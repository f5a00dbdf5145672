#include "transport/ws_frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

// RFC 6455 §5.2 framing, §5.3 masking, §5.5.1 close frames, §4.2.2 accept key.
namespace gyre::transport::ws {
namespace {

ParseResult parse(const std::vector<uint8_t>& bytes, FrameHeader& h) {
  return parse_header(bytes.data(), bytes.size(), h);
}

TEST(WsFrameTest, ParsesSevenBitLengthUnmaskedText) {
  FrameHeader h;
  ASSERT_EQ(parse({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, h), ParseResult::kOk);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.rsv, 0);
  EXPECT_EQ(h.opcode, kText);
  EXPECT_FALSE(h.masked);
  EXPECT_EQ(h.payload_len, 5u);
  EXPECT_EQ(h.header_len, 2u);
}

TEST(WsFrameTest, ParsesMaskedClientFrameFromRfcExample) {
  // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
  std::vector<uint8_t> frame = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                0x7f, 0x9f, 0x4d, 0x51, 0x58};
  FrameHeader h;
  ASSERT_EQ(parse(frame, h), ParseResult::kOk);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.payload_len, 5u);
  EXPECT_EQ(h.header_len, 6u);
  EXPECT_EQ(h.mask[0], 0x37);
  EXPECT_EQ(h.mask[1], 0xfa);
  EXPECT_EQ(h.mask[2], 0x21);
  EXPECT_EQ(h.mask[3], 0x3d);
  unmask(frame.data() + h.header_len, h.payload_len, h.mask);
  EXPECT_EQ(std::string(frame.begin() + 6, frame.end()), "Hello");
}

TEST(WsFrameTest, ParsesFinRsvAndOpcodeBits) {
  FrameHeader h;
  ASSERT_EQ(parse({0x72, 0x00}, h), ParseResult::kOk);  // FIN=0, RSV1..3=111, binary
  EXPECT_FALSE(h.fin);
  EXPECT_EQ(h.rsv, 7);
  EXPECT_EQ(h.opcode, kBinary);
  ASSERT_EQ(parse({0xC1, 0x00}, h), ParseResult::kOk);  // FIN, RSV1 (permessage-deflate)
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.rsv, 4);
  ASSERT_EQ(parse({0x8A, 0x00}, h), ParseResult::kOk);
  EXPECT_EQ(h.opcode, kPong);
  ASSERT_EQ(parse({0x00, 0x00}, h), ParseResult::kOk);
  EXPECT_EQ(h.opcode, kContinuation);
}

TEST(WsFrameTest, ParsesSixteenBitLength) {
  FrameHeader h;
  ASSERT_EQ(parse({0x82, 0x7E, 0x01, 0x00}, h), ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 256u);
  EXPECT_EQ(h.header_len, 4u);
  ASSERT_EQ(parse({0x82, 0x7E, 0x00, 0x7E}, h), ParseResult::kOk);  // 126: smallest allowed
  EXPECT_EQ(h.payload_len, 126u);
  ASSERT_EQ(parse({0x82, 0xFE, 0xFF, 0xFF, 1, 2, 3, 4}, h), ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 65535u);
  EXPECT_EQ(h.header_len, 8u);
  EXPECT_EQ(h.mask[3], 4);
}

TEST(WsFrameTest, ParsesSixtyFourBitLength) {
  FrameHeader h;
  ASSERT_EQ(parse({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, h), ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 65536u);
  EXPECT_EQ(h.header_len, 10u);
  ASSERT_EQ(parse({0x82, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 9, 8, 7, 6}, h),
            ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 0x0102030405060708ull);
  EXPECT_EQ(h.header_len, 14u);
  EXPECT_EQ(h.mask[0], 9);
  ASSERT_EQ(parse({0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, h),
            ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 0x7FFFFFFFFFFFFFFFull);
}

TEST(WsFrameTest, NeedsMoreForTruncatedHeaders) {
  FrameHeader h;
  EXPECT_EQ(parse({}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0x7E}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0x7E, 0x01}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0x7F, 0, 0, 0, 0, 0, 1, 0}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0x85, 1, 2, 3}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0xFE, 0x01, 0x00, 1, 2, 3}, h), ParseResult::kNeedMore);
  EXPECT_EQ(parse({0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3}, h), ParseResult::kNeedMore);
}

TEST(WsFrameTest, HeaderWithoutPayloadBytesIsComplete) {
  // parse_header looks at the header only; the payload may still be in flight.
  FrameHeader h;
  EXPECT_EQ(parse({0x81, 0x7D}, h), ParseResult::kOk);
  EXPECT_EQ(h.payload_len, 125u);
}

TEST(WsFrameTest, NonMinimalLengthsAreInvalid) {
  FrameHeader h;
  EXPECT_EQ(parse({0x81, 0x7E, 0x00, 0x7D}, h), ParseResult::kInvalid);  // 125 in 16 bits
  EXPECT_EQ(parse({0x81, 0x7E, 0x00, 0x00}, h), ParseResult::kInvalid);
  EXPECT_EQ(parse({0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, h),
            ParseResult::kInvalid);  // 65535 in 64 bits
  EXPECT_EQ(parse({0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5}, h), ParseResult::kInvalid);
}

TEST(WsFrameTest, SixtyFourBitLengthWithHighBitIsInvalid) {
  FrameHeader h;
  EXPECT_EQ(parse({0x81, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, h), ParseResult::kInvalid);
  EXPECT_EQ(parse({0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, h),
            ParseResult::kInvalid);
}

TEST(WsFrameTest, WriteHeaderUsesMinimalLengthEncoding) {
  uint8_t buf[kMaxHeader];
  ASSERT_EQ(write_header(buf, kText, 0), 2u);
  EXPECT_EQ(buf[0], 0x81);
  EXPECT_EQ(buf[1], 0x00);
  ASSERT_EQ(write_header(buf, kBinary, 125), 2u);
  EXPECT_EQ(buf[0], 0x82);
  EXPECT_EQ(buf[1], 125);
  ASSERT_EQ(write_header(buf, kText, 126), 4u);
  EXPECT_EQ(buf[1], 126);
  EXPECT_EQ(buf[2], 0x00);
  EXPECT_EQ(buf[3], 0x7E);
  ASSERT_EQ(write_header(buf, kText, 65535), 4u);
  EXPECT_EQ(buf[2], 0xFF);
  EXPECT_EQ(buf[3], 0xFF);
  ASSERT_EQ(write_header(buf, kText, 65536), 10u);
  EXPECT_EQ(buf[1], 127);
  const uint8_t want[8] = {0, 0, 0, 0, 0, 1, 0, 0};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(buf[2 + i], want[i]) << i;
  }
}

TEST(WsFrameTest, WriteHeaderRoundTripsThroughParse) {
  for (uint64_t len : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32,
                       0x7FFFFFFFFFFFFFFFull}) {
    for (uint8_t op : {kText, kBinary, kClose, kPing, kPong}) {
      uint8_t buf[kMaxHeader];
      size_t n = write_header(buf, op, len);
      FrameHeader h;
      ASSERT_EQ(parse_header(buf, n, h), ParseResult::kOk) << len;
      EXPECT_EQ(h.header_len, n);
      EXPECT_EQ(h.payload_len, len);
      EXPECT_EQ(h.opcode, op);
      EXPECT_TRUE(h.fin);
      EXPECT_FALSE(h.masked);
      EXPECT_EQ(h.rsv, 0);
      EXPECT_EQ(parse_header(buf, n - 1, h), ParseResult::kNeedMore) << len;
    }
  }
}

TEST(WsFrameTest, UnmaskIsItsOwnInverse) {
  const uint8_t mask[4] = {0xA1, 0xB2, 0xC3, 0xD4};
  std::string s = "The quick brown fox";
  std::string orig = s;
  unmask(reinterpret_cast<uint8_t*>(s.data()), s.size(), mask);
  EXPECT_NE(s, orig);
  EXPECT_EQ(static_cast<uint8_t>(s[0]), 'T' ^ 0xA1);
  EXPECT_EQ(static_cast<uint8_t>(s[5]), 'u' ^ 0xB2);
  unmask(reinterpret_cast<uint8_t*>(s.data()), s.size(), mask);
  EXPECT_EQ(s, orig);
}

TEST(WsFrameTest, UnmaskWithOffsetContinuesTheMaskSequence) {
  const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  uint8_t whole[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  uint8_t pieces[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  unmask(whole, 5, mask);
  unmask(pieces, 3, mask, 0);
  unmask(pieces + 3, 2, mask, 3);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(whole), 5), "Hello");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(pieces), 5), "Hello");
  uint8_t one[] = {0x58};
  unmask(one, 1, mask, 8);  // position 8 uses mask[0]
  EXPECT_EQ(one[0], 0x58 ^ 0x37);
}

TEST(WsFrameTest, CloseFrameHasBigEndianCodeAndReason) {
  std::string f = close_frame(3001, "shutdown");
  ASSERT_EQ(f.size(), 2u + 2u + 8u);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 0x88);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 10);
  EXPECT_EQ(static_cast<uint8_t>(f[2]), 0x0B);  // 3001 = 0x0BB9
  EXPECT_EQ(static_cast<uint8_t>(f[3]), 0xB9);
  EXPECT_EQ(f.substr(4), "shutdown");
}

TEST(WsFrameTest, CloseFrameWithEmptyReason) {
  std::string f = close_frame(1000, "");
  EXPECT_EQ(f, std::string("\x88\x02\x03\xe8", 4));
}

TEST(WsFrameTest, CloseFrameTruncatesReasonTo123Bytes) {
  std::string reason(200, 'r');
  std::string f = close_frame(3503, reason);
  ASSERT_EQ(f.size(), 2u + 125u);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 125);  // control frame payload limit
  EXPECT_EQ(f.substr(4), std::string(123, 'r'));
  std::string exact = close_frame(3503, std::string(123, 'x'));
  EXPECT_EQ(exact.size(), 127u);
}

TEST(WsFrameTest, CloseFrameTruncatesReasonAtACharacterBoundary) {
  // 122 ASCII bytes then "é" (2 bytes): byte 123 would split the character.
  std::string reason = std::string(122, 'r') + "\xC3\xA9tail";
  std::string f = close_frame(3503, reason);
  EXPECT_EQ(f.substr(4), std::string(122, 'r'));
}

TEST(WsFrameTest, AcceptKeyMatchesRfcExample) {
  // RFC 6455 §1.3 and §4.2.2.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsFrameTest, AcceptKeyDependsOnKey) {
  // Expected value computed independently (Python hashlib + base64).
  EXPECT_EQ(accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="), "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
  EXPECT_EQ(accept_key("x").size(), 28u);
}

}  // namespace
}  // namespace gyre::transport::ws
