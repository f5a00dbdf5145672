// libFuzzer target: POST /emulation bodies (src/transport/emulation.h, client-protocol.md
// §8.2.3).
//
// The first byte picks the decoder (even: JSON, odd: Protobuf); the rest is the body. An
// accepted Protobuf request must re-encode to a message that decodes to the same fields; an
// accepted JSON request's data, when it is a JSON string, must decode as one, and the
// string's content must never be longer than the raw value.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "transport/emulation.h"

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_field(std::string& out, uint32_t number, std::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  put_varint(out, (static_cast<uint64_t>(number) << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool protobuf = (data[0] & 1) != 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (protobuf) {
    auto r = gyre::transport::decode_emulation_protobuf(body);
    if (!r) {
      return 0;
    }
    std::string again;
    put_field(again, 1, r->node);
    put_field(again, 2, r->session);
    put_field(again, 3, r->data);
    auto r2 = gyre::transport::decode_emulation_protobuf(again);
    GYRE_FUZZ_CHECK(r2.has_value());
    GYRE_FUZZ_CHECK(r2->node == r->node);
    GYRE_FUZZ_CHECK(r2->session == r->session);
    GYRE_FUZZ_CHECK(r2->data == r->data);
    return 0;
  }
  auto r = gyre::transport::decode_emulation_json(body);
  if (!r) {
    return 0;
  }
  GYRE_FUZZ_CHECK(r->data.size() <= body.size());
  if (auto s = gyre::transport::decode_json_string(r->data)) {
    GYRE_FUZZ_CHECK(!r->data.empty() && r->data.front() == '"');
    GYRE_FUZZ_CHECK(s->size() <= r->data.size());
  }
  return 0;
}
