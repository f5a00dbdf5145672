#include "transport/http_util.h"

#include <gtest/gtest.h>

// Response heads, CORS, chunking and connect-code transforms of the HTTP-based transports
// (client-protocol.md §8.2, §8.3; reference.md §1.2, §1.9).
namespace gyre::transport::http {
namespace {

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

TEST(HttpUtilTest, StreamHeadCarriesNoCacheHeadersAndChunkedEncoding) {
  EXPECT_EQ(stream_response_head("text/event-stream; charset=utf-8", "X-A: b\r\n"),
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
  EXPECT_EQ(simple_response(403, "text/plain; charset=utf-8", "nope", "", false),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\nConnection: close\r\n\r\nnope");
  EXPECT_EQ(simple_response(200, "", "", "", true), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
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
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

TEST(HttpUtilTest, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(204), "No Content");
  EXPECT_EQ(reason_phrase(413), "Request Entity Too Large");
  EXPECT_EQ(reason_phrase(799), "");
}

}  // namespace
}  // namespace gyre::transport::http
