// libFuzzer target: permessage-deflate (src/transport/ws_deflate.h).
//
// The first byte picks the check. Offer parsing: any Sec-WebSocket-Extensions value is parsed
// without trouble. Inflating: any client payload inflates within the size limit (at most
// limit + 1 bytes are ever produced, kOk output is within the limit) and the inflater is usable
// again afterwards. Deflating: any message round-trips through deflate_message and
// inflate_message at any valid level, and compressing twice gives the same bytes (the fan-out
// shares them between subscribers).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "transport/ws_deflate.h"

namespace ws = gyre::transport::ws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t mode = data[0] % 3;
  const uint8_t arg = data[1];
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  switch (mode) {
    case 0:
      (void)ws::accept_deflate_offer(in);
      break;
    case 1: {
      size_t limit = static_cast<size_t>(arg) * 64;
      std::string out;
      auto r = ws::inflate_message(out, in, limit);
      GYRE_FUZZ_CHECK(out.size() <= limit + 1);
      if (r == ws::InflateResult::kOk) {
        GYRE_FUZZ_CHECK(out.size() <= limit);
      }
      // Reset per message: a known message still inflates.
      std::string hello;
      ws::deflate_message(hello, "Hello", 1);
      GYRE_FUZZ_CHECK(ws::inflate_message(out, hello, 5) == ws::InflateResult::kOk);
      GYRE_FUZZ_CHECK(out == "Hello");
      break;
    }
    default: {
      int level = static_cast<int>(arg % 12) - 2;  // -2..9
      std::string z;
      ws::deflate_message(z, in, level);
      std::string again;
      ws::deflate_message(again, in, level);
      GYRE_FUZZ_CHECK(z == again);
      std::string back;
      GYRE_FUZZ_CHECK(ws::inflate_message(back, z, in.size()) == ws::InflateResult::kOk);
      GYRE_FUZZ_CHECK(back == in);
      break;
    }
  }
  return 0;
}
