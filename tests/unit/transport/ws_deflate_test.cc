#include "transport/ws_deflate.h"

#include <gtest/gtest.h>

#include <string>

// RFC 7692: extension negotiation (§5, §7.1), per-message compression without context
// takeover (§7.2) and the size limit on the inflated message.
namespace gyre::transport::ws {
namespace {

std::string bytes(std::initializer_list<unsigned char> b) {
  return std::string(b.begin(), b.end());
}

TEST(WsDeflateTest, AcceptsPlainOfferAndTheWsPackageDefaultOffer) {
  EXPECT_TRUE(accept_deflate_offer("permessage-deflate"));
  // What the `ws` npm package and browsers send.
  EXPECT_TRUE(accept_deflate_offer("permessage-deflate; client_max_window_bits"));
  EXPECT_TRUE(accept_deflate_offer(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"));
  EXPECT_TRUE(accept_deflate_offer("PerMessage-Deflate ;client_max_window_bits=10"));
  EXPECT_TRUE(accept_deflate_offer("permessage-deflate; client_max_window_bits=\"12\""));
  EXPECT_TRUE(accept_deflate_offer("permessage-deflate; server_max_window_bits=15"));
}

TEST(WsDeflateTest, DeclinesInvalidOrUnsupportedOffers) {
  EXPECT_FALSE(accept_deflate_offer(""));
  EXPECT_FALSE(accept_deflate_offer("x-webkit-deflate-frame"));
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; unknown_param"));
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; server_no_context_takeover=1"));
  EXPECT_FALSE(accept_deflate_offer(
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover"));
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; client_max_window_bits=7"));
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; client_max_window_bits=016"));
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; server_max_window_bits"));
  // A smaller server window cannot share the fan-out's compressed frames.
  EXPECT_FALSE(accept_deflate_offer("permessage-deflate; server_max_window_bits=10"));
}

TEST(WsDeflateTest, FallsBackToALaterOfferInTheList) {
  EXPECT_TRUE(accept_deflate_offer(
      "permessage-deflate; server_max_window_bits=10, permessage-deflate"));
  EXPECT_TRUE(accept_deflate_offer("foo, permessage-deflate; client_max_window_bits"));
  EXPECT_FALSE(accept_deflate_offer("foo; a=\"x,permessage-deflate\""));
}

TEST(WsDeflateTest, ValidLevelsAreThoseOfGoFlate) {
  EXPECT_TRUE(valid_compression_level(-2));
  EXPECT_TRUE(valid_compression_level(1));
  EXPECT_TRUE(valid_compression_level(9));
  EXPECT_FALSE(valid_compression_level(-3));
  EXPECT_FALSE(valid_compression_level(10));
}

TEST(WsDeflateTest, CompressesHelloAsRfc7692Example) {
  // RFC 7692 §7.2.3.1: "Hello" in one fixed-Huffman block, tail removed.
  std::string out = "prefix";
  deflate_message(out, "Hello", 1);
  EXPECT_EQ(out, "prefix" + bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(WsDeflateTest, InflatesRfc7692Examples) {
  std::string out;
  EXPECT_EQ(inflate_message(out, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 100),
            InflateResult::kOk);
  EXPECT_EQ(out, "Hello");
  // §7.2.3.3: a stored block.
  EXPECT_EQ(inflate_message(out,
                            bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
                                   0x00}),
                            100),
            InflateResult::kOk);
  EXPECT_EQ(out, "Hello");
  // §7.2.3.4: BFINAL set.
  EXPECT_EQ(inflate_message(out, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}), 100),
            InflateResult::kOk);
  EXPECT_EQ(out, "Hello");
}

TEST(WsDeflateTest, RoundTripsAtEveryLevelWithoutContext) {
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += "{\"push\":{\"channel\":\"chat:" + std::to_string(i % 17) + "\"}}\n";
  }
  for (int level = -2; level <= 9; ++level) {
    std::string z;
    deflate_message(z, text, level);
    std::string back;
    ASSERT_EQ(inflate_message(back, z, text.size()), InflateResult::kOk) << level;
    EXPECT_EQ(back, text) << level;
    // Same input, fresh state: the same bytes (what lets subscribers share one frame).
    std::string again;
    deflate_message(again, text, level);
    EXPECT_EQ(again, z) << level;
  }
}

TEST(WsDeflateTest, EmptyMessageRoundTrips) {
  std::string z;
  deflate_message(z, "", 1);
  std::string back = "x";
  EXPECT_EQ(inflate_message(back, z, 10), InflateResult::kOk);
  EXPECT_EQ(back, "");
}

TEST(WsDeflateTest, InflateStopsAtTheLimit) {
  std::string zeros(1 << 20, '0');
  std::string z;
  deflate_message(z, zeros, 9);
  ASSERT_LT(z.size(), 4096u);  // a "bomb": ~1 KiB on the wire, 1 MiB inflated
  std::string out;
  EXPECT_EQ(inflate_message(out, z, 65536), InflateResult::kTooBig);
  EXPECT_LE(out.size(), 65537u);
  EXPECT_EQ(inflate_message(out, z, zeros.size() - 1), InflateResult::kTooBig);
  EXPECT_EQ(inflate_message(out, z, zeros.size()), InflateResult::kOk);
  EXPECT_EQ(out, zeros);
}

TEST(WsDeflateTest, InvalidDataIsReported) {
  std::string out;
  EXPECT_EQ(inflate_message(out, bytes({0xff, 0xff, 0xff, 0xff}), 100), InflateResult::kInvalid);
  // The inflater is reset per message: a valid one works after an invalid one.
  EXPECT_EQ(inflate_message(out, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 100),
            InflateResult::kOk);
  EXPECT_EQ(out, "Hello");
}

}  // namespace
}  // namespace gyre::transport::ws
