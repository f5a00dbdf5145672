#pragma once

// Shared by json_commands_fuzz.cc and protobuf_commands_fuzz.cc: whatever a codec decodes
// from the fuzz input is fed back through every encoder of that codec, built from the decoded
// strings, raw values and numbers, so the writers see arbitrary bytes and lengths.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "protocol/codec.h"

namespace gyre::fuzz {

// Runs one encoder into a buffer that already holds bytes: an encoder appends exactly one
// message and never touches what is there. `check` judges the message alone.
template <typename Check, typename Encode>
void encode_checked(Check& check, Encode&& encode) {
  static const std::string kPrefix = "prefix";
  std::string out = kPrefix;
  encode(out);
  GYRE_FUZZ_CHECK(out.size() > kPrefix.size());
  GYRE_FUZZ_CHECK(out.compare(0, kPrefix.size(), kPrefix) == 0);
  check(std::string_view(out).substr(kPrefix.size()));
}

// Encodes the replies and pushes that can be built from `cmd`'s fields; `check(message)` is
// called on each.
template <typename Check>
void reencode(const protocol::Codec& c, const protocol::Command& cmd, Check&& check) {
  using namespace protocol;  // NOLINT(google-build-using-namespace): test-only helper
  auto emit = [&](auto&& encode) { encode_checked(check, encode); };
  // The error message is arbitrary UTF-8 here (a decoded channel); it must be escaped.
  emit([&](std::string& out) {
    c.encode_error(out, cmd.id, Error{cmd.id, cmd.channel.channel + cmd.publish.channel,
                                      cmd.id % 2 == 0});
  });
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
      emit([&](std::string& out) { c.encode_connect(out, cmd.id, r); });
      emit([&](std::string& out) { c.encode_connect_push(out, r); });
      break;
    }
    case Method::kSubscribe: {
      SubscribeResult r;
      r.epoch = cmd.subscribe.epoch;
      r.offset = cmd.subscribe.offset;
      r.data = cmd.subscribe.data;
      r.recoverable = cmd.subscribe.recoverable;
      r.positioned = cmd.subscribe.positioned;
      emit([&](std::string& out) { c.encode_subscribe(out, cmd.id, r); });
      SubscribePush p{r.recoverable, r.epoch, r.offset, r.positioned, r.data};
      for (bool uni : {false, true}) {
        emit([&](std::string& out) { c.encode_subscribe_push(out, cmd.subscribe.channel, p, uni); });
      }
      break;
    }
    case Method::kPublish: {
      emit([&](std::string& out) { c.encode_empty(out, cmd.id, Method::kPublish); });
      auto pub = std::make_shared<Publication>();
      pub->offset = 1;
      pub->epoch = cmd.publish.channel;
      pub->data = cmd.publish.data;
      pub->info = ClientInfo{"user", "client", cmd.publish.data, cmd.publish.data};
      pub->tags.emplace_back(cmd.publish.channel, cmd.publish.data);
      for (bool uni : {false, true}) {
        emit([&](std::string& out) { c.encode_pub(out, cmd.publish.channel, *pub, uni); });
        emit([&](std::string& out) { c.encode_join(out, cmd.publish.channel, *pub->info, uni); });
      }
      HistoryResult h;
      h.publications.push_back(pub);
      h.epoch = cmd.publish.channel;
      emit([&](std::string& out) { c.encode_history(out, cmd.id, h); });
      break;
    }
    case Method::kHistory: {
      HistoryResult h;
      h.epoch = cmd.history.since ? cmd.history.since->epoch : cmd.history.channel;
      h.offset = cmd.history.since ? cmd.history.since->offset : 0;
      emit([&](std::string& out) { c.encode_history(out, cmd.id, h); });
      break;
    }
    case Method::kRpc:
      emit([&](std::string& out) { c.encode_rpc(out, cmd.id, RpcResult{cmd.rpc.data}); });
      break;
    case Method::kSend:
      for (bool uni : {false, true}) {
        emit([&](std::string& out) { c.encode_message(out, cmd.send.data, uni); });
      }
      break;
    case Method::kUnsubscribe:
    case Method::kPresence:
    case Method::kPresenceStats:
      emit([&](std::string& out) { c.encode_empty(out, cmd.id, Method::kUnsubscribe); });
      for (bool uni : {false, true}) {
        emit([&](std::string& out) {
          c.encode_unsubscribe(out, cmd.channel.channel, Unsubscribe{2000, cmd.channel.channel},
                               uni);
        });
      }
      break;
    case Method::kRefresh:
    case Method::kSubRefresh:
      emit([&](std::string& out) {
        c.encode_disconnect(out, Disconnect{3500, cmd.refresh.token + cmd.sub_refresh.token}, true);
      });
      break;
    default:
      break;
  }
}

// Decodes `frame` as a command batch and as a bare ConnectRequest (unidirectional
// transports, cf_connect); re-encodes whatever decodes.
template <typename Check>
void decode_and_reencode(const protocol::Codec& c, std::string_view frame, Check&& check) {
  std::vector<protocol::Command> cmds;
  if (c.decode_commands(frame, cmds)) {
    GYRE_FUZZ_CHECK(!cmds.empty());
    for (const auto& cmd : cmds) {
      reencode(c, cmd, check);
    }
  }
  protocol::ConnectRequest req;
  if (c.decode_connect_request(frame, req)) {
    protocol::Command cmd;
    cmd.method = protocol::Method::kConnect;
    cmd.connect = std::move(req);
    reencode(c, cmd, check);
  }
}

}  // namespace gyre::fuzz
