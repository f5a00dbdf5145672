// libFuzzer target: server API request decoding (src/api/requests.h, server-api.md §1).
//
// The input is an HTTP API body. It is decoded as the request object of every method
// (POST <prefix>/<method>), as a batch (POST <prefix>/batch), and as one command of the
// legacy stream (POST <prefix>), whose params are then decoded for the method they name, as
// the legacy handler does. None of these needs a Node.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <variant>

#include "api/requests.h"
#include "fuzz_check.h"

namespace {

using gyre::api::Method;

constexpr Method kMethods[] = {
    Method::kPublish,  Method::kBroadcast,     Method::kSubscribe, Method::kUnsubscribe,
    Method::kDisconnect, Method::kPresence,    Method::kPresenceStats, Method::kHistory,
    Method::kHistoryRemove, Method::kChannels, Method::kInfo,      Method::kRpc,
    Method::kRefresh,
};

// The variant alternative decode_request must produce for each method.
size_t expected_index(Method m) {
  switch (m) {
    case Method::kPublish:
      return 0;
    case Method::kBroadcast:
      return 1;
    case Method::kSubscribe:
      return 2;
    case Method::kUnsubscribe:
      return 3;
    case Method::kDisconnect:
      return 4;
    case Method::kRefresh:
      return 5;
    case Method::kPresence:
    case Method::kPresenceStats:
    case Method::kHistoryRemove:
      return 6;
    case Method::kHistory:
      return 7;
    case Method::kChannels:
      return 8;
    case Method::kInfo:
      return 9;
    case Method::kRpc:
      return 10;
  }
  std::abort();
}

void check_decoded(Method m, const std::optional<gyre::api::AnyRequest>& r) {
  if (r) {
    GYRE_FUZZ_CHECK(r->index() == expected_index(m));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  for (Method m : kMethods) {
    // Name round trip, cheap and total.
    auto name = gyre::api::method_name(m);
    GYRE_FUZZ_CHECK(gyre::api::method_from_name(name) == m);
    check_decoded(m, gyre::api::decode_request(m, body));
  }

  if (auto batch = gyre::api::decode_batch(body)) {
    for (const auto& cmd : batch->commands) {
      if (cmd.method) {
        check_decoded(*cmd.method, cmd.request);
      }
    }
  }

  // The legacy stream: the whole body, then each line (the HTTP handler scans JSON values,
  // which are usually one per line).
  std::string_view rest = body;
  for (bool whole = true;; whole = false) {
    std::string_view value = rest;
    if (!whole) {
      size_t nl = rest.find('\n');
      value = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    if (auto cmd = gyre::api::decode_legacy_command(value)) {
      auto m = gyre::api::method_from_enum(cmd->method);
      if (m && *m != Method::kInfo && !cmd->params.empty()) {
        check_decoded(*m, gyre::api::decode_request(*m, cmd->params));
      }
    }
    if (!whole && rest.empty()) {
      break;
    }
    if (whole && rest.find('\n') == std::string_view::npos) {
      break;  // a single line: already done
    }
  }

  // Unknown route names and MethodType values.
  (void)gyre::api::method_from_name(body);
  if (size >= 4) {
    int32_t v = static_cast<int32_t>(uint32_t{data[0]} | uint32_t{data[1]} << 8 |
                                     uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24);
    if (auto m = gyre::api::method_from_enum(v)) {
      GYRE_FUZZ_CHECK(v >= 0 && v <= 12);
    }
  }
  return 0;
}
