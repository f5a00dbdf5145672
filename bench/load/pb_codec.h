#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Hand-written subset of the centrifuge-protobuf client protocol (client-protocol.md §2.3, §3):
// varint-delimited Command encoding for connect/subscribe/publish and a zero-copy Reply decoder
// that finds replies, errors, pings and publication data. Stateless; decoded views point into
// the frame.
namespace gyre::bench::pb {

void append_varint(std::string& out, uint64_t v);
size_t varint_size(uint64_t v);

// Each appends one length-prefixed Command (the same as protobufjs encodeDelimited).
// Command{id=1, connect=4{token=1, name=4}}.
void append_connect(std::string& out, uint32_t id, std::string_view token, std::string_view name);
// Command{id=1, subscribe=5{channel=1}}.
void append_subscribe(std::string& out, uint32_t id, std::string_view channel);
// Command{id=1, publish=7{channel=1, data=2}}.
void append_publish(std::string& out, uint32_t id, std::string_view channel,
                    std::string_view data);

struct ReplyView {
  uint32_t id = 0;           // Reply.id (1)
  bool has_error = false;    // Reply.error (2)
  uint32_t error_code = 0;   // Error.code (1)
  bool has_push = false;     // Reply.push (4)
  std::string_view channel;  // Push.channel (2)
  bool has_pub = false;      // Push.pub (4)
  std::string_view data;     // Publication.data (4)
  uint64_t offset = 0;       // Publication.offset (6)
  bool has_disconnect = false;  // Push.disconnect (11)
  bool has_result = false;   // any of Reply fields 5..15 (command result)
};

// Decodes one Reply message (without its length prefix). Unknown fields are skipped;
// nullopt on malformed input.
std::optional<ReplyView> decode_reply(std::string_view msg);

struct Delimited {
  std::string_view message;  // may be empty: an empty Reply is a ping (§10.2)
  size_t consumed = 0;
};

// Reads one varint-delimited item from the start of `frame`; nullopt if truncated.
std::optional<Delimited> next_delimited(std::string_view frame);

}  // namespace gyre::bench::pb
