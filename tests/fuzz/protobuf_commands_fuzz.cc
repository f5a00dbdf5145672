// libFuzzer target: Protobuf client protocol decoding (client-protocol.md §2.3, §10.2).
//
// The input is one binary WebSocket frame: varint-length-delimited Commands. It is also
// decoded as a bare ConnectRequest (unidirectional transports). Decoded fields are fed back
// through the Protobuf encoders so the writers see arbitrary bytes and lengths.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"

#define GYRE_FUZZ_CHECK(cond)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace {

using namespace gyre::protocol;  // NOLINT(google-build-using-namespace): test-only file

// Every encode_* appends exactly one message and never touches what is already in `out`.
template <typename Fn>
void encode_checked(Fn&& fn) {
  static const std::string kPrefix = "prefix";
  std::string out = kPrefix;
  fn(out);
  GYRE_FUZZ_CHECK(out.compare(0, kPrefix.size(), kPrefix) == 0);
}

void reencode(const Codec& c, const Command& cmd) {
  encode_checked([&](std::string& out) {
    c.encode_error(out, cmd.id, gyre::Error{cmd.id, cmd.channel.channel, cmd.id % 2 == 0});
  });
  if (cmd.method == Method::kUnsubscribe || cmd.method == Method::kPublish) {
    // encode_empty's contract: unsubscribe and publish only.
    encode_checked([&](std::string& out) { c.encode_empty(out, cmd.id, cmd.method); });
  }

  switch (cmd.method) {
    case Method::kConnect: {
      ConnectResult r;
      r.client = cmd.connect.name;
      r.version = cmd.connect.version;
      r.data = cmd.connect.data;
      r.ttl = cmd.id;
      for (const auto& [channel, sub] : cmd.connect.subs) {
        SubscribeResult s;
        s.epoch = sub.epoch;
        s.offset = sub.offset;
        s.data = sub.data;
        r.subs.emplace_back(channel, std::move(s));
      }
      encode_checked([&](std::string& out) { c.encode_connect(out, cmd.id, r); });
      encode_checked([&](std::string& out) { c.encode_connect_push(out, r); });
      break;
    }
    case Method::kSubscribe: {
      SubscribePush p{cmd.subscribe.recoverable, cmd.subscribe.epoch, cmd.subscribe.offset,
                      cmd.subscribe.positioned, cmd.subscribe.data};
      for (bool uni : {false, true}) {
        encode_checked([&](std::string& out) {
          c.encode_subscribe_push(out, cmd.subscribe.channel, p, uni);
        });
      }
      break;
    }
    case Method::kPublish: {
      auto pub = std::make_shared<Publication>();
      pub->offset = 1;
      pub->epoch = cmd.publish.channel;
      pub->data = cmd.publish.data;
      pub->info = ClientInfo{"user", "client", cmd.publish.data, cmd.publish.data};
      pub->tags.emplace_back(cmd.publish.channel, cmd.publish.data);
      for (bool uni : {false, true}) {
        encode_checked(
            [&](std::string& out) { c.encode_pub(out, cmd.publish.channel, *pub, uni); });
      }
      HistoryResult h;
      h.publications.push_back(pub);
      encode_checked([&](std::string& out) { c.encode_history(out, cmd.id, h); });
      break;
    }
    case Method::kHistory: {
      HistoryResult h;
      h.epoch = cmd.history.since ? cmd.history.since->epoch : cmd.history.channel;
      h.offset = cmd.history.since ? cmd.history.since->offset : 0;
      encode_checked([&](std::string& out) { c.encode_history(out, cmd.id, h); });
      break;
    }
    case Method::kRpc:
      encode_checked([&](std::string& out) { c.encode_rpc(out, cmd.id, RpcResult{cmd.rpc.data}); });
      break;
    case Method::kSend:
      for (bool uni : {false, true}) {
        encode_checked([&](std::string& out) { c.encode_message(out, cmd.send.data, uni); });
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Codec& c = protobuf_codec();
  GYRE_FUZZ_CHECK(c.type() == ProtocolType::kProtobuf);
  std::string_view frame(reinterpret_cast<const char*>(data), size);

  std::vector<Command> cmds;
  if (c.decode_commands(frame, cmds)) {
    GYRE_FUZZ_CHECK(!cmds.empty());
    for (const auto& cmd : cmds) {
      reencode(c, cmd);
    }
  }

  ConnectRequest req;
  if (c.decode_connect_request(frame, req)) {
    Command cmd;
    cmd.method = Method::kConnect;
    cmd.connect = std::move(req);
    reencode(c, cmd);
  }
  return 0;
}
