#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

// Pure helpers for the HTTP-based client transports (client-protocol.md §8.2, §8.3,
// reference.md §1.2-§1.9): response heads, CORS headers, chunked framing and the
// connect-code transforms. No I/O, no Beast: unit-tested in tests/unit/transport.
// Stateless functions: thread-safe.
namespace gyre::transport::http {

// The whitespace-separated fields of a header value, as Go's strings.Fields splits an
// Authorization header ("apikey <key>", "token <t>"): ASCII spaces, tabs, CR, LF, VT, FF.
std::vector<std::string_view> header_fields(std::string_view value);

// Reason phrase of an HTTP status ("OK", "Not Found"); "" for codes it does not know.
std::string_view reason_phrase(int status);

// CORS headers Centrifugo's middleware adds when the request's Origin passed the origin
// check (reference.md §1.2 step 5): `Access-Control-Allow-Origin: <origin>`,
// `Access-Control-Allow-Credentials: true`, and `Access-Control-Allow-Headers` echoing
// Access-Control-Request-Headers (unless empty or "null"). Each line ends with CR LF. Empty
// when `origin` is empty.
std::string cors_headers(std::string_view origin, std::string_view request_headers);

// The head of a streaming response (status 200, chunked body) with the no-cache headers of
// client-protocol.md §8.2.1 and a Date header; `content_type` empty = none; `extra` = more
// header lines.
std::string stream_response_head(std::string_view content_type, std::string_view extra);

// A complete response with a fixed body (Content-Length, none for 204), a Date header,
// `Connection: close` if !keep_alive.
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

// The one query-string parser of Gyre (server API and client transports), with Go's
// url.ParseQuery semantics, which Centrifugo applies: pairs are split at `&`; a pair holding
// `;` is dropped (Go >= 1.17 refuses semicolon separators); empty pairs are skipped; key and
// value are cut at the first `=` and unescaped as Go's QueryUnescape (`+` = space, `%XX` a
// byte); a pair with a malformed escape in its key or value is dropped, the others are kept.
// Decoding uses Boost.URL.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
// Go's url.QueryUnescape: nullopt for a malformed percent escape.
std::optional<std::string> query_unescape(std::string_view s);
// The first value of `name` after parse_query (Go's Values.Get, which cannot tell a missing
// parameter from an empty one: here a missing one is nullopt).
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// The current time as an HTTP `Date` value (IMF-fixdate, RFC 9110 §5.6.7), as Go's net/http
// adds to every response: "Mon, 07 Dec 2026 03:28:24 GMT". Formatted once per second per
// thread.
std::string_view http_date();
// The same for a given Unix time (seconds).
std::string format_http_date(int64_t unix_seconds);

}  // namespace gyre::transport::http
