#include "protocol/fossil.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::protocol::fossil {
namespace {

using namespace std::string_view_literals;

// §9.6.
constexpr std::string_view kSource = R"({"counter":1,"text":"hello world"})";
constexpr std::string_view kTarget = R"({"counter":2,"text":"hello world"})";
constexpr std::string_view kExampleDelta = "Y\nB@0,1:2M@C,d49gh;";

// Strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF): what a JSON
// string must hold (§9.3).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng() & 0xFF);
  }
  return s;
}

// A few random replace/insert/delete edits of random size, as successive publications of a
// changing payload would have.
std::string mutate(std::mt19937& rng, std::string s, int edits) {
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    const size_t len = rng() % 20;
    switch (rng() % 3) {
      case 0:
        s.insert(pos, random_bytes(rng, len));
        break;
      case 1:
        s.erase(pos, len);
        break;
      default:
        s.replace(pos, len, random_bytes(rng, rng() % 20));
        break;
    }
  }
  return s;
}

// A ~1 KB JSON publication like a dashboard pushes.
std::string json_payload(int counter, int price, std::string_view status) {
  std::string s = R"({"counter":)" + std::to_string(counter) + R"(,"status":")" +
                  std::string(status) + R"(","items":[)";
  for (int i = 0; i < 16; ++i) {
    if (i > 0) {
      s += ',';
    }
    s += R"({"id":)" + std::to_string(1000 + i) + R"(,"name":"instrument-)" + std::to_string(i) +
         R"(","price":)" + std::to_string(i == 7 ? price : 100 + i) + R"(,"currency":"USD"})";
  }
  s += "]}";
  return s;
}

void expect_round_trip(std::string_view source, std::string_view target) {
  const std::string delta = create(source, target);
  const std::optional<std::string> out = fossil::apply(source, delta);
  ASSERT_TRUE(out.has_value()) << "delta: " << delta;
  EXPECT_EQ(*out, target);
  const std::string safe = create_utf8_safe(source, target);
  const std::optional<std::string> safe_out = fossil::apply(source, safe);
  ASSERT_TRUE(safe_out.has_value()) << "delta: " << safe;
  EXPECT_EQ(*safe_out, target);
}

TEST(FossilTest, WorkedExampleAppliesToTarget) {
  ASSERT_EQ(kExampleDelta.size(), 19u);
  const std::optional<std::string> out = fossil::apply(kSource, kExampleDelta);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, kTarget);
}

TEST(FossilTest, WorkedExampleChecksum) {
  EXPECT_EQ(checksum(kTarget), 672176876u);
  EXPECT_EQ(checksum(kTarget), 0x28109AECu);
}

TEST(FossilTest, ChecksumPadsTheLastWordOnTheRight) {
  EXPECT_EQ(checksum(""), 0u);
  EXPECT_EQ(checksum("\x01"), 0x01000000u);
  EXPECT_EQ(checksum("\x01\x02"), 0x01020000u);
  EXPECT_EQ(checksum("\x01\x02\x03"), 0x01020300u);
  EXPECT_EQ(checksum("\x01\x02\x03\x04\x05"), 0x01020304u + 0x05000000u);
  // Wraps modulo 2^32.
  EXPECT_EQ(checksum("\xff\xff\xff\xff\x00\x00\x00\x02"sv), 1u);
}

TEST(FossilTest, CreateReproducesWorkedExampleBytes) {
  EXPECT_EQ(create(kSource, kTarget), kExampleDelta);
  EXPECT_EQ(create_utf8_safe(kSource, kTarget), kExampleDelta);
}

TEST(FossilTest, IntegersAreBase64MostSignificantFirst) {
  // The header is len(T); an empty source forces a single insert "<len>:".
  const auto header = [](size_t n) {
    const std::string d = create("", std::string(n, 'x'));
    return d.substr(0, d.find('\n'));
  };
  EXPECT_EQ(header(0), "0");
  EXPECT_EQ(header(9), "9");
  EXPECT_EQ(header(11), "B");
  EXPECT_EQ(header(12), "C");
  EXPECT_EQ(header(22), "M");
  EXPECT_EQ(header(34), "Y");
  EXPECT_EQ(header(36), "_");
  EXPECT_EQ(header(37), "a");
  EXPECT_EQ(header(62), "z");
  EXPECT_EQ(header(63), "~");
  EXPECT_EQ(header(64), "10");
  EXPECT_EQ(header(4095), "~~");
  EXPECT_EQ(header(4096), "100");
  // §9.6's checksum digits: d(40) 4 9 g(43) h(44).
  EXPECT_TRUE(create(kSource, kTarget).ends_with("d49gh;"));
}

TEST(FossilTest, EmptyInputs) {
  EXPECT_EQ(create("", ""), "0\n0;");
  expect_round_trip("", "");
  expect_round_trip("abc", "");
  expect_round_trip("", "abc");
  expect_round_trip(std::string(100, 'a'), "");
  expect_round_trip("", std::string(100, 'a'));
  EXPECT_EQ(fossil::apply("anything", "0\n0;"), "");
}

TEST(FossilTest, ShortTargetsAndSources) {
  expect_round_trip("a", "b");
  expect_round_trip("abcdefghijklmnop", "abcdefghijklmnoq");  // Source exactly one window.
  expect_round_trip("hello world, hello world", "hello");      // Target shorter than a window.
  expect_round_trip("hello", "hello world, hello world");
  // A copy of a common prefix/suffix still beats a literal for short payloads.
  const std::string source = "abcdefghijklmnopqrstuvwxyz";
  const std::string target = "abcdefghijklmXopqrstuvwxyz";
  EXPECT_LT(create(source, target).size(), target.size());
}

TEST(FossilTest, IdenticalPayloadsBecomeOneCopy) {
  const std::string payload = json_payload(1, 150, "ok");
  const std::string delta = create(payload, payload);
  EXPECT_EQ(delta.find(':'), std::string::npos) << delta;
  EXPECT_LT(delta.size(), 20u);
  expect_round_trip(payload, payload);
}

TEST(FossilTest, RoundTripsRandomBinaryEdits) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 500; ++iter) {
    const std::string source = random_bytes(rng, rng() % 600);
    const std::string target = mutate(rng, source, 1 + static_cast<int>(rng() % 6));
    SCOPED_TRACE(iter);
    expect_round_trip(source, target);
  }
}

TEST(FossilTest, RoundTripsUnrelatedAndRepetitiveInputs) {
  std::mt19937 rng(777);
  for (int iter = 0; iter < 100; ++iter) {
    SCOPED_TRACE(iter);
    expect_round_trip(random_bytes(rng, rng() % 300), random_bytes(rng, rng() % 300));
    // Low-entropy data stresses the hash chains (every block collides).
    std::string rep_source(rng() % 2000, 'a');
    std::string rep_target = mutate(rng, rep_source, 3);
    expect_round_trip(rep_source, rep_target);
    std::string pattern;
    for (size_t i = 0, n = rng() % 3000; i < n; ++i) {
      pattern += static_cast<char>('a' + i % 7);
    }
    expect_round_trip(pattern, mutate(rng, pattern, 4));
  }
}

TEST(FossilTest, RoundTripsJsonPayloadsWithSmallChanges) {
  std::string prev = json_payload(0, 100, "ok");
  for (int i = 1; i < 50; ++i) {
    const std::string next = json_payload(i, 100 + i * 37, i % 5 == 0 ? "degraded" : "ok");
    SCOPED_TRACE(i);
    expect_round_trip(prev, next);
    prev = next;
  }
}

TEST(FossilTest, SmallEditOfOneKilobytePayloadGivesShortDelta) {
  const std::string source = json_payload(41, 150, "ok");
  ASSERT_GT(source.size(), 1000u);
  // One edit (prefix/suffix case), two distant edits (needs the reference encoder), and a
  // length-changing edit.
  for (const std::string& target :
       {json_payload(42, 150, "ok"), json_payload(42, 151, "ok"),
        json_payload(41, 150, "degraded"), json_payload(1042, 99999, "ok")}) {
    const std::string delta = create(source, target);
    EXPECT_LT(delta.size(), 64u) << delta;
    EXPECT_LT(delta.size(), target.size());
    EXPECT_EQ(fossil::apply(source, delta), target);
  }
}

TEST(FossilTest, ScatteredEditsUseHashMatchesNotOneBigInsert) {
  std::mt19937 rng(99);
  const std::string source = random_bytes(rng, 4096);
  std::string target = source;
  for (size_t pos : {100u, 1000u, 2000u, 3000u, 4000u}) {
    target[pos] = static_cast<char>(target[pos] ^ 0x55);
  }
  const std::string delta = create(source, target);
  EXPECT_LT(delta.size(), 100u) << delta;
  EXPECT_EQ(fossil::apply(source, delta), target);
  // Moved blocks are found too.
  const std::string moved = source.substr(2048) + source.substr(0, 2048);
  const std::string moved_delta = create(source, moved);
  EXPECT_LT(moved_delta.size(), 40u) << moved_delta;
  EXPECT_EQ(fossil::apply(source, moved_delta), moved);
}

TEST(FossilTest, RoundTripsLargeInputs) {
  std::mt19937 rng(2024);
  const std::string source = random_bytes(rng, 100 * 1024);
  const std::string target = mutate(rng, source, 20);
  const std::string delta = create(source, target);
  EXPECT_LT(delta.size(), 2048u);
  EXPECT_EQ(fossil::apply(source, delta), target);
  expect_round_trip(source, random_bytes(rng, 100 * 1024));
  expect_round_trip("", source);
  expect_round_trip(source, "");
}

TEST(FossilTest, ApplyRejectsEveryTruncation) {
  const std::string source = json_payload(1, 150, "ok");
  const std::string target = json_payload(2, 175, "ok");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string(kSource), std::string(kExampleDelta)},
      {source, create(source, target)},
      {"", create("", "some literal text")},
  };
  for (const auto& [src, delta] : cases) {
    ASSERT_TRUE(fossil::apply(src, delta).has_value());
    for (size_t n = 0; n < delta.size(); ++n) {
      EXPECT_FALSE(fossil::apply(src, delta.substr(0, n)).has_value()) << n << " of " << delta;
    }
  }
}

TEST(FossilTest, ApplyRejectsBadChecksum) {
  EXPECT_FALSE(fossil::apply(kSource, "Y\nB@0,1:2M@C,d49gi;").has_value());
  EXPECT_FALSE(fossil::apply(kSource, "Y\nB@0,1:3M@C,d49gh;").has_value());  // Wrong literal.
  EXPECT_FALSE(fossil::apply(kSource, "Y\nB@0,1:2M@C,;").has_value());       // No checksum digits.
}

TEST(FossilTest, ApplyRejectsCopyOutOfRange) {
  EXPECT_FALSE(fossil::apply(kSource, "Y\nB@0,1:2M@D,d49gh;").has_value());  // 13 + 22 > 34.
  EXPECT_FALSE(fossil::apply(kSource, "1\n1@Y,0;").has_value());              // Offset == len(S).
  EXPECT_FALSE(fossil::apply("", "1\n1@0,0;").has_value());
  // Offset + count overflowing 32 bits must not wrap into range.
  EXPECT_FALSE(fossil::apply(kSource, "1\n1@3~~~~~,0;").has_value());
}

TEST(FossilTest, ApplyRejectsOutputLongerOrShorterThanHeader) {
  // Header 33: the last copy pushes the running length to 34.
  EXPECT_FALSE(fossil::apply(kSource, "X\nB@0,1:2M@C,d49gh;").has_value());
  // Header 35: output stops at 34.
  EXPECT_FALSE(fossil::apply(kSource, "Z\nB@0,1:2M@C,d49gh;").has_value());
  // An insert past the header.
  EXPECT_FALSE(fossil::apply("", "1\n2:ab0;").has_value());
  // Header over 32 bits.
  EXPECT_FALSE(fossil::apply("", "4000000\n0;").has_value());
}

TEST(FossilTest, ApplyRejectsMalformedFraming) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {kSource, ""},
      {kSource, "YB@0,1:2M@C,d49gh;"},     // Missing LF.
      {kSource, "Y\rB@0,1:2M@C,d49gh;"},   // Wrong header terminator.
      {kSource, "\nB@0,1:2M@C,d49gh;"},    // Empty header.
      {kSource, "Y\nB@0;1:2M@C,d49gh;"},   // Copy not ended by ','.
      {kSource, "Y\nB@0,1:2M@C,d49gh"},    // No ';'.
      {kSource, "Y\nB@0,1:2M@C,d49gh;x"},  // Bytes after ';'.
      {kSource, "Y\nB@0,9:2M@C,d49gh;"},   // Insert eats the rest.
      {kSource, "Y\n@0,1:2M@C,d49gh;"},    // Count missing.
      {"", "9\n9:ab0;"},                  // Insert beyond the delta.
      {"", "2\n~~~~~~:ab0;"},             // Count over 32 bits.
  };
  for (const auto& [source, delta] : cases) {
    EXPECT_FALSE(fossil::apply(source, delta).has_value()) << delta;
  }
}

TEST(FossilTest, ApplyRejectsUnknownOperators) {
  for (char op : "!#$%&*+-./<=>?[]^`{|}\n\r\t \x7f\x80\xff\0"sv) {
    std::string delta = "Y\nB@0,1:2M@C,d49gh;";
    delta[3] = op;
    EXPECT_FALSE(fossil::apply(kSource, delta).has_value()) << static_cast<int>(op);
  }
}

TEST(FossilTest, ApplySurvivesHostileInput) {
  std::mt19937 rng(31337);
  const std::string source = json_payload(1, 150, "ok");
  const std::string valid = create(source, json_payload(2, 175, "ok"));
  const std::string alphabet = "0123456789AZaz_~@:,;\n\xff";
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string delta;
    if (iter % 2 == 0) {
      // Random tokens from the format's own alphabet.
      for (size_t n = rng() % 40; n > 0; --n) {
        delta += alphabet[rng() % alphabet.size()];
      }
    } else {
      // A valid delta with a few bytes flipped.
      delta = valid;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
        delta[rng() % delta.size()] = alphabet[rng() % alphabet.size()];
      }
    }
    const std::optional<std::string> out = fossil::apply(source, delta);
    accepted += out ? 1 : 0;
  }
  EXPECT_LT(accepted, 20000);
}

TEST(FossilTest, PlainCreateCanSplitACharacter) {
  // 'а' (D0 B0) -> 'б' (D0 B1): the common prefix ends after the lead byte D0, so the plain
  // encoder inserts a lone continuation byte. This is why §9.3 needs create_utf8_safe.
  const std::string source = "Статус: а, всё в порядке";
  const std::string target = "Статус: б, всё в порядке";
  const std::string plain = create(source, target);
  EXPECT_FALSE(valid_utf8(plain)) << plain;
  const std::string safe = create_utf8_safe(source, target);
  EXPECT_TRUE(valid_utf8(safe)) << safe;
  EXPECT_EQ(fossil::apply(source, safe), target);
  EXPECT_LT(safe.size(), target.size());
}

TEST(FossilTest, Utf8SafeDeltaIsValidUtf8ForMultiByteEdits) {
  const std::string source =
      R"({"user":"Пётр","status":"в сети 🟢","msg":"Привет, мир! 👋🏽 Как дела?","n":1})";
  const std::vector<std::string> targets = {
      R"({"user":"Пётр","status":"не в сети 🔴","msg":"Привет, мир! 👋🏽 Как дела?","n":2})",
      R"({"user":"Пётр","status":"в сети 🟢","msg":"Привет, мир! 👋🏿 Как дела?","n":1})",
      R"({"user":"Пётр","status":"в сети 🟡","msg":"Привет, мир! 👋🏽 Как дела?","n":1})",
      R"({"user":"Петр","status":"в сети 🟢","msg":"Привет, мир! 👋🏽 Как дела?","n":1})",
      R"({"user":"Пётр","status":"в сети 🟢","msg":"Привет, мир! 👋🏽 Как дела? Хорошо.","n":1})",
      R"(["日本語テキスト","emoji 😀😃😄😁"])",
  };
  for (const std::string& target : targets) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(valid_utf8(target));
    const std::string delta = create_utf8_safe(source, target);
    EXPECT_TRUE(valid_utf8(delta)) << delta;
    EXPECT_EQ(fossil::apply(source, delta), target);
  }
}

TEST(FossilTest, Utf8SafeDeltaIsValidUtf8ForRandomTextEdits) {
  // Mixed 1- to 4-byte characters, long enough for the reference encoder's hash matches,
  // edited at character granularity so that every target is valid UTF-8.
  const std::vector<std::string> chars = {"a", "b", "{", "\"", "é", "ж", "Ж", "я",
                                          "中", "文", "€", "😀", "😃", "🟢", "👋"};
  std::mt19937 rng(4242);
  const auto random_text = [&](size_t n) {
    std::vector<std::string> t;
    for (size_t i = 0; i < n; ++i) {
      t.push_back(chars[rng() % chars.size()]);
    }
    return t;
  };
  const auto join = [](const std::vector<std::string>& t) {
    std::string s;
    for (const std::string& c : t) {
      s += c;
    }
    return s;
  };
  int plain_invalid = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<std::string> text = random_text(rng() % 400);
    const std::string source = join(text);
    for (int e = 0, n = 1 + static_cast<int>(rng() % 4); e < n; ++e) {
      const size_t pos = text.empty() ? 0 : rng() % text.size();
      const std::vector<std::string> repl = random_text(rng() % 5);
      const size_t del = std::min<size_t>(rng() % 5, text.size() - pos);
      text.erase(text.begin() + static_cast<ptrdiff_t>(pos),
                 text.begin() + static_cast<ptrdiff_t>(pos + del));
      text.insert(text.begin() + static_cast<ptrdiff_t>(pos), repl.begin(), repl.end());
    }
    const std::string target = join(text);
    SCOPED_TRACE(iter);
    const std::string delta = create_utf8_safe(source, target);
    ASSERT_TRUE(valid_utf8(delta)) << delta;
    ASSERT_EQ(fossil::apply(source, delta), target);
    // The price of safety is small: a few bytes per copy at most.
    EXPECT_LE(delta.size(), create(source, target).size() + 16);
    plain_invalid += valid_utf8(create(source, target)) ? 0 : 1;
  }
  // The inputs do exercise the hazard.
  EXPECT_GT(plain_invalid, 0);
}

}  // namespace
}  // namespace gyre::protocol::fossil
