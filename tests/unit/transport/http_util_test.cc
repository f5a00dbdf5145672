#include "transport/http_util.h"

#include <gtest/gtest.h>

// Response heads, CORS, chunking and connect-code transforms of the HTTP-based transports
// (client-protocol.md §8.2, §8.3; reference.md §1.2, §1.9).
namespace gyre::transport::http {
namespace {

TEST(HttpUtilTest, HeaderFieldsSplitOnAsciiWhitespaceAsGoStringsFields) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(header_fields("apikey k"), (V{"apikey", "k"}));
  EXPECT_EQ(header_fields(" \ttoken\r\n  a.b \v\f"), (V{"token", "a.b"}));
  EXPECT_EQ(header_fields("a b c"), (V{"a", "b", "c"}));
  EXPECT_EQ(header_fields(" \t "), V{});
  EXPECT_EQ(header_fields(""), V{});
}

TEST(HttpUtilTest, CorsHeadersEchoOriginAndRequestedHeaders) {
  EXPECT_EQ(cors_headers("https://a.example", "content-type"),
            "Access-Control-Allow-Origin: https://a.example\r\n"
            "Access-Control-Allow-Headers: content-type\r\n"
            "Access-Control-Allow-Credentials: true\r\n");
}

TEST(HttpUtilTest, CorsHeadersSkipNullRequestHeadersAndEmptyOrigin) {
  EXPECT_EQ(cors_headers("https://a.example", "null"),
            "Access-Control-Allow-Origin: https://a.example\r\n"
            "Access-Control-Allow-Credentials: true\r\n");
  EXPECT_EQ(cors_headers("", "content-type"), "");
}

// The response with its one `Date: <IMF-fixdate>` line removed ("<no date>" when there is not
// exactly one well-formed line).
std::string without_date(std::string r) {
  size_t at = r.find("\r\nDate: ");
  if (at == std::string::npos || r.find("\r\nDate: ", at + 1) != std::string::npos) {
    return "<no date>";
  }
  size_t end = r.find("\r\n", at + 2);
  if (end - (at + 8) != 29 || r.compare(end - 4, 4, " GMT") != 0) {
    return "<no date>";
  }
  return r.erase(at, end - at);
}

TEST(HttpUtilTest, StreamHeadCarriesNoCacheHeadersAndChunkedEncoding) {
  EXPECT_EQ(without_date(stream_response_head("text/event-stream; charset=utf-8", "X-A: b\r\n")),
            "HTTP/1.1 200 OK\r\n"
            "Cache-Control: private, no-cache, no-store, must-revalidate, max-age=0\r\n"
            "Connection: keep-alive\r\n"
            "Content-Type: text/event-stream; charset=utf-8\r\n"
            "Expire: 0\r\n"
            "Pragma: no-cache\r\n"
            "X-Accel-Buffering: no\r\n"
            "X-A: b\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(stream_response_head("", "").find("Content-Type"), std::string::npos);
}

TEST(HttpUtilTest, ChunkIsHexLengthBodyCrLfAndEmptyBodyWritesNothing) {
  std::string out;
  append_chunk(out, std::string(26, 'x'));
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'x') + "\r\n");
  out.clear();
  append_chunk(out, "");
  EXPECT_EQ(out, "");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

TEST(HttpUtilTest, SimpleResponseHasLengthAndOptionalClose) {
  EXPECT_EQ(without_date(simple_response(403, "text/plain; charset=utf-8", "nope", "", false)),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\nConnection: close\r\n\r\nnope");
  EXPECT_EQ(without_date(simple_response(200, "", "", "", true)),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpUtilTest, ConnectCodeTransformMatchesCodeAndDefaultsBodyToMessage) {
  config::CodeTransforms t;
  EXPECT_FALSE(connect_code_to_http_response(t, 3500, "invalid token").has_value());
  t.enabled = true;
  t.transforms.push_back({3500, 0, "", 403, "forbidden"});
  t.transforms.push_back({109, 0, "", 401, ""});
  auto r = connect_code_to_http_response(t, 3500, "invalid token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "forbidden");
  r = connect_code_to_http_response(t, 109, "token expired");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "token expired");
  r = connect_code_to_http_response(t, 3501, "bad request");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "Internal Server Error");
}

TEST(HttpUtilTest, QueryParamDecodesPercentAndPlus) {
  auto v = query_param("a=1&cf_connect=%7B%22token%22%3A%22x+y%22%7D", "cf_connect");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "{\"token\":\"x y\"}");
  EXPECT_FALSE(query_param("a=1", "cf_connect"));
  EXPECT_EQ(query_param("cf_connect", "cf_connect").value(), "");
}

// Go's url.ParseQuery + Values.Get, case by case (Go 1.21 results in the comments' place).
TEST(HttpUtilTest, QueryParsingFollowsGoParseQuery) {
  using P = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_query(""), P{});
  EXPECT_EQ(parse_query("a=1&b=2"), (P{{"a", "1"}, {"b", "2"}}));
  // Repeated keys keep their order; Get returns the first.
  EXPECT_EQ(parse_query("a=1&a=2"), (P{{"a", "1"}, {"a", "2"}}));
  EXPECT_EQ(query_param("a=1&a=2", "a").value(), "1");
  // Empty pairs are skipped; a bare key has an empty value; `=` splits once.
  EXPECT_EQ(parse_query("&&a&b=&=c&d=e=f"), (P{{"a", ""}, {"b", ""}, {"", "c"}, {"d", "e=f"}}));
  // A pair with a semicolon is dropped whole, the others survive.
  EXPECT_EQ(parse_query("a=1;b=2&c=3"), (P{{"c", "3"}}));
  EXPECT_FALSE(query_param("api_key=x;y", "api_key"));
  // Malformed escapes drop only their pair (in the key or in the value).
  EXPECT_EQ(parse_query("a=%zz&b=%4&c=%41&%g=1&d=ok"), (P{{"c", "A"}, {"d", "ok"}}));
  EXPECT_FALSE(query_param("api_key=%", "api_key"));
  // `+` is a space in keys and values; %2B is a plus; escapes may encode any byte.
  EXPECT_EQ(parse_query("a+b=c+d&e=%2B&f=%00%ff"),
            (P{{"a b", "c d"}, {"e", "+"}, {"f", std::string("\0\xff", 2)}}));
  // Keys are case-sensitive.
  EXPECT_FALSE(query_param("API_KEY=1", "api_key"));
  EXPECT_EQ(query_unescape("%7E%7e"), "~~");
  EXPECT_FALSE(query_unescape("100%"));
}

TEST(HttpUtilTest, HttpDateIsImfFixdate) {
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(1796614104), "Mon, 07 Dec 2026 03:28:24 GMT");
  EXPECT_EQ(http_date().size(), 29u);
  EXPECT_TRUE(http_date().ends_with(" GMT"));
}

TEST(HttpUtilTest, SimpleResponseHasDateAndNoLengthFor204) {
  std::string r = simple_response(204, "", "", "", true);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 204 No Content\r\nDate: ")) << r;
  EXPECT_EQ(r.find("Content-Length"), std::string::npos) << r;
  r = simple_response(413, "text/plain", "x", "", false);
  EXPECT_NE(r.find("\r\nContent-Length: 1\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nConnection: close\r\n\r\nx"), std::string::npos) << r;
}

TEST(HttpUtilTest, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(204), "No Content");
  EXPECT_EQ(reason_phrase(413), "Request Entity Too Large");
  EXPECT_EQ(reason_phrase(799), "");
}

}  // namespace
}  // namespace gyre::transport::http
