// libFuzzer target: JSON client protocol decoding (client-protocol.md §2.2) and re-encoding.
//
// The input is one inbound WebSocket/HTTP-stream frame: newline-joined Commands, also tried as
// a bare ConnectRequest. Whatever decodes is fed back through the JSON encoders with the
// decoded strings and raw JSON values (command_reencode.h), and every encoded message must be
// one valid JSON value without a newline byte (the newline delimits messages, §2.2).
// valid_json is checked against simdjson's DOM on the same bytes.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "command_reencode.h"
#include "fuzz_check.h"
#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gyre::protocol;  // NOLINT(google-build-using-namespace): test-only file
  const Codec& c = json_codec();
  GYRE_FUZZ_CHECK(c.type() == ProtocolType::kJson);
  std::string_view frame(reinterpret_cast<const char*>(data), size);

  gyre::fuzz::decode_and_reencode(c, frame, [](std::string_view msg) {
    GYRE_FUZZ_CHECK(msg.find('\n') == std::string_view::npos);
    GYRE_FUZZ_CHECK(valid_json(msg));
  });

  // valid_json vs simdjson's DOM: they agree except that valid_json also accepts numbers
  // the DOM cannot represent (it reports NUMBER_ERROR for those).
  static simdjson::dom::parser dom;
  const auto dom_err = dom.parse(frame.data(), frame.size(), true).error();
  const bool valid = valid_json(frame);
  if (!frame.empty() && !dom_err) {
    GYRE_FUZZ_CHECK(valid);
  }
  if (valid) {
    GYRE_FUZZ_CHECK(!dom_err || dom_err == simdjson::NUMBER_ERROR);
  }
  return 0;
}
