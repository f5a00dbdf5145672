#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// permessage-deflate (RFC 7692) as Centrifugo negotiates it: gorilla/websocket answers an
// offer with "server_no_context_takeover; client_no_context_takeover", so every message is
// compressed and decompressed on its own. That is what lets a fan-out compress a shared
// publication once and send the same bytes to every subscriber. Pure functions over
// per-thread zlib streams: thread-safe, and a shard never shares a stream with another one.
namespace gyre::transport::ws {

// What Centrifugo answers to an accepted offer (gorilla/websocket server.go).
inline constexpr std::string_view kDeflateResponse =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

// RSV1 marks the first frame of a compressed message (RFC 7692 §6).
inline constexpr uint8_t kRsv1 = 0x40;

// Reads the Sec-WebSocket-Extensions values of a handshake (RFC 6455 §9.1 grammar, several
// header lines joined with ", ") and returns true when one of its permessage-deflate offers can
// be accepted with no context takeover and the server's default 15-bit window. An offer is
// declined (RFC 7692 §5) when it repeats a parameter, carries an unknown parameter or an
// invalid value, or limits the server's window below 15 bits (server_max_window_bits < 15:
// the shared compressed frames use a 32 KiB window). client_max_window_bits is accepted with
// or without a value: the server inflates with a full window, which reads any smaller one.
bool accept_deflate_offer(std::string_view extensions_header);

// Compression level as gorilla/websocket takes it: -2 (Huffman only) to 9; anything else is
// refused by SetCompressionLevel and Centrifugo keeps the default level 1.
bool valid_compression_level(int level);

// Appends the compressed payload of one message to `out`: raw DEFLATE at `level`, sync-flushed,
// with the trailing 00 00 ff ff removed (RFC 7692 §7.2.1). Starts from a fresh state every time.
void deflate_message(std::string& out, std::string_view in, int level);

enum class InflateResult { kOk, kTooBig, kInvalid };

// Decompresses one message's payload (the tail 00 00 ff ff is appended here, §7.2.2) into
// `out` (replaced). kTooBig as soon as the output would exceed `limit` bytes: the limit bounds
// the inflated size, so a small "deflate bomb" cannot make the server allocate more than it.
// kInvalid for data zlib rejects.
InflateResult inflate_message(std::string& out, std::string_view in, size_t limit);

}  // namespace gyre::transport::ws
