// libFuzzer target: Protobuf client protocol decoding (client-protocol.md §2.3, §10.2).
//
// The input is one binary WebSocket frame: varint-length-delimited Commands. It is also
// decoded as a bare ConnectRequest (unidirectional transports). Decoded fields are fed back
// through the Protobuf encoders (command_reencode.h) so the writers see arbitrary bytes and
// lengths; each encoder must append exactly one message and leave the buffer's start alone.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "command_reencode.h"
#include "fuzz_check.h"
#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gyre::protocol;  // NOLINT(google-build-using-namespace): test-only file
  const Codec& c = protobuf_codec();
  GYRE_FUZZ_CHECK(c.type() == ProtocolType::kProtobuf);
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  gyre::fuzz::decode_and_reencode(c, frame, [](std::string_view) {});
  return 0;
}
