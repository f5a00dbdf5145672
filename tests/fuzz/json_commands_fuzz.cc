// libFuzzer target: JSON client protocol decoding (client-protocol.md §2.2) and re-encoding.
//
// The input is one inbound WebSocket/HTTP-stream frame: newline-joined Commands. Whatever
// decodes is fed back through the JSON encoders with the decoded strings and raw JSON values,
// and every encoded message must be one valid JSON value without a newline byte (the newline
// delimits messages, client-protocol.md §2.2).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "protocol/codec.h"
#include "protocol/json_raw.h"

#define GYRE_FUZZ_CHECK(cond)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace {

using namespace gyre::protocol;  // NOLINT(google-build-using-namespace): test-only file

void check_message(const std::string& out) {
  GYRE_FUZZ_CHECK(!out.empty());
  GYRE_FUZZ_CHECK(out.find('\n') == std::string::npos);
  GYRE_FUZZ_CHECK(is_valid_json(out));
}

// Encodes replies and pushes built from the decoded command's fields.
void reencode(const Codec& c, const Command& cmd) {
  std::string out;
  // The error message is arbitrary UTF-8 here (a decoded channel); it must be escaped.
  c.encode_error(out, cmd.id, gyre::Error{107, cmd.channel.channel + cmd.publish.channel, false});
  check_message(out);

  switch (cmd.method) {
    case Method::kConnect: {
      ConnectResult r;
      r.client = cmd.connect.name;
      r.version = cmd.connect.version;
      r.data = cmd.connect.data;
      for (const auto& [channel, sub] : cmd.connect.subs) {
        SubscribeResult s;
        s.epoch = sub.epoch;
        s.offset = sub.offset;
        s.data = sub.data;
        r.subs.emplace_back(channel, std::move(s));
      }
      out.clear();
      c.encode_connect(out, cmd.id, r);
      check_message(out);
      out.clear();
      c.encode_connect_push(out, r);
      check_message(out);
      break;
    }
    case Method::kSubscribe: {
      SubscribeResult r;
      r.epoch = cmd.subscribe.epoch;
      r.offset = cmd.subscribe.offset;
      r.data = cmd.subscribe.data;
      r.recoverable = cmd.subscribe.recoverable;
      r.positioned = cmd.subscribe.positioned;
      out.clear();
      c.encode_subscribe(out, cmd.id, r);
      check_message(out);
      SubscribePush p{r.recoverable, r.epoch, r.offset, r.positioned, r.data};
      for (bool uni : {false, true}) {
        out.clear();
        c.encode_subscribe_push(out, cmd.subscribe.channel, p, uni);
        check_message(out);
      }
      break;
    }
    case Method::kPublish: {
      auto pub = std::make_shared<Publication>();
      pub->offset = 1;
      pub->epoch = cmd.publish.channel;
      pub->data = cmd.publish.data;
      pub->info = ClientInfo{"user", "client", cmd.publish.data, cmd.publish.data};
      pub->tags.emplace_back(cmd.publish.channel, cmd.publish.channel);
      for (bool uni : {false, true}) {
        out.clear();
        c.encode_pub(out, cmd.publish.channel, *pub, uni);
        check_message(out);
        out.clear();
        c.encode_join(out, cmd.publish.channel, *pub->info, uni);
        check_message(out);
      }
      HistoryResult h;
      h.publications.push_back(pub);
      h.epoch = cmd.publish.channel;
      out.clear();
      c.encode_history(out, cmd.id, h);
      check_message(out);
      break;
    }
    case Method::kRpc:
      out.clear();
      c.encode_rpc(out, cmd.id, RpcResult{cmd.rpc.data});
      check_message(out);
      break;
    case Method::kSend:
      for (bool uni : {false, true}) {
        out.clear();
        c.encode_message(out, cmd.send.data, uni);
        check_message(out);
      }
      break;
    case Method::kUnsubscribe:
    case Method::kPresence:
    case Method::kPresenceStats:
      out.clear();
      c.encode_empty(out, cmd.id, Method::kUnsubscribe);
      check_message(out);
      for (bool uni : {false, true}) {
        out.clear();
        c.encode_unsubscribe(out, cmd.channel.channel, Unsubscribe{2000, cmd.channel.channel},
                             uni);
        check_message(out);
      }
      break;
    case Method::kRefresh:
    case Method::kSubRefresh:
      out.clear();
      c.encode_disconnect(out, gyre::Disconnect{3500, cmd.refresh.token + cmd.sub_refresh.token},
                          true);
      check_message(out);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Codec& c = json_codec();
  GYRE_FUZZ_CHECK(c.type() == ProtocolType::kJson);
  std::string_view frame(reinterpret_cast<const char*>(data), size);

  std::vector<Command> cmds;
  if (c.decode_commands(frame, cmds)) {
    GYRE_FUZZ_CHECK(!cmds.empty());
    for (const auto& cmd : cmds) {
      reencode(c, cmd);
    }
  }

  // The same bytes as a bare ConnectRequest (unidirectional transports, cf_connect).
  ConnectRequest req;
  if (c.decode_connect_request(frame, req)) {
    Command cmd;
    cmd.method = Method::kConnect;
    cmd.connect = std::move(req);
    reencode(c, cmd);
  }

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
