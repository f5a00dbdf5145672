#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Zero-copy scanners for the receive path (publication stamps, NATS protocol items, HTTP/1.1
// responses) and the publication payload writer. Stateless; results point into the input.
namespace gyre::bench {

// A publication payload is the JSON object {"t":<send time, ns>,"s":<sequence>,"p":"<pad>"}.
struct Stamp {
  bool ok = false;
  int64_t t = 0;
  int64_t s = 0;
};

// Finds the first `"t":` in the bytes and reads t, then the following `"s":`.
Stamp find_stamp(std::string_view bytes);

// Appends the payload object; `padding` is copied into "p" verbatim (must be JSON-safe).
void append_payload(std::string& out, int64_t t, int64_t s, std::string_view padding);

// Appends the decimal form of v.
void append_int(std::string& out, int64_t v);

enum class NatsKind : uint8_t { kMsg, kPing, kPong, kInfo, kOk, kErr, kOther };

struct NatsItem {
  enum Status : uint8_t { kItem, kIncomplete, kError } status = kIncomplete;
  NatsKind kind = NatsKind::kOther;
  size_t consumed = 0;
  std::string_view payload;  // MSG payload, or the -ERR text
};

// Parses one NATS server protocol item (https://docs.nats.io/reference/reference-protocols/
// nats-protocol): "MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n", PING, PONG,
// INFO, +OK, -ERR.
NatsItem parse_nats(std::string_view data);

struct HttpResponse {
  enum Status : uint8_t { kComplete, kIncomplete, kError } status = kIncomplete;
  int code = 0;
  size_t consumed = 0;
  std::string_view body;  // Content-Length body; for chunked bodies only the first chunk
  bool close = false;     // "Connection: close"
};

// Parses one HTTP/1.1 response with a Content-Length or chunked body.
HttpResponse parse_http_response(std::string_view data);

size_t count_occurrences(std::string_view hay, std::string_view needle);

}  // namespace gyre::bench
