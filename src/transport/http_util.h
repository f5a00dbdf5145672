#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

// Pure helpers for the HTTP-based client transports (client-protocol.md §8.2, §8.3,
// reference.md §1.2-§1.9): response heads, CORS headers, chunked framing and the
// connect-code transforms. No I/O, no Beast: unit-tested in tests/unit/transport.
// Stateless functions: thread-safe.
namespace gyre::transport::http {

// Reason phrase of an HTTP status ("OK", "Not Found"); "" for codes it does not know.
std::string_view reason_phrase(int status);

// CORS headers Centrifugo's middleware adds when the request's Origin passed the origin
// check (reference.md §1.2 step 5): `Access-Control-Allow-Origin: <origin>`,
// `Access-Control-Allow-Credentials: true`, and `Access-Control-Allow-Headers` echoing
// Access-Control-Request-Headers (unless empty or "null"). Each line ends with CR LF. Empty
// when `origin` is empty.
std::string cors_headers(std::string_view origin, std::string_view request_headers);

// The head of a streaming response (status 200, chunked body) with the no-cache headers of
// client-protocol.md §8.2.1; `content_type` empty = none; `extra` = more header lines.
std::string stream_response_head(std::string_view content_type, std::string_view extra);

// A complete response with a fixed body (Content-Length), `Connection: close` if !keep_alive.
std::string simple_response(int status, std::string_view content_type, std::string_view body,
                            std::string_view extra, bool keep_alive);

// Appends one HTTP/1.1 chunk holding `body` (nothing for an empty body: an empty chunk
// would end the stream).
void append_chunk(std::string& out, std::string_view body);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// uni_*_connect_code_to_http_response (reference.md §1.9): the response for a failed connect
// with `code` (an error or disconnect code) and its message. When the transforms are
// enabled, a matching transform gives its status and body (the message when the body is
// empty); an unmatched code gives 500 "Internal Server Error". nullopt when disabled.
struct HttpResponse {
  int status = 0;
  std::string body;
};
std::optional<HttpResponse> connect_code_to_http_response(const config::CodeTransforms& t,
                                                          uint32_t code,
                                                          std::string_view message);

// Decodes an `application/x-www-form-urlencoded` value (`+` = space, %XX).
std::string percent_decode(std::string_view v);
// Value of query parameter `name` (decoded), or nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace gyre::transport::http
