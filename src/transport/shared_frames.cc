#include "transport/shared_frames.h"

#include "transport/ws_frame.h"

namespace gyre::transport {

namespace {

// Encodes the push for one protocol and form, unframed.
std::string encode_push(const hub::Fanout& f, const protocol::Codec& codec,
                        hub::Fanout::Form form) {
  std::string msg;
  switch (f.kind) {
    case hub::Fanout::Kind::kPublication:
      if (form == hub::Fanout::Form::kDeltaPatch) {
        codec.encode_pub_delta_form(msg, f.channel, *f.pub, f.patch, true, false);
      } else if (form == hub::Fanout::Form::kDeltaFull &&
                 codec.type() == protocol::ProtocolType::kJson) {
        codec.encode_pub_delta_form(msg, f.channel, *f.pub, f.pub->data, false, false);
      } else {
        codec.encode_pub(msg, f.channel, *f.pub, false);
      }
      break;
    case hub::Fanout::Kind::kJoin:
      codec.encode_join(msg, f.channel, f.info, false);
      break;
    case hub::Fanout::Kind::kLeave:
      codec.encode_leave(msg, f.channel, f.info, false);
      break;
  }
  return msg;
}

}  // namespace

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void frame_into(std::string& out, std::string_view body, uint8_t opcode) {
  uint8_t hdr[ws::kMaxHeader];
  size_t n = ws::write_header(hdr, opcode, body.size());
  out.reserve(n + body.size());
  out.append(reinterpret_cast<const char*>(hdr), n);
  out.append(body);
}

SharedFrames& shared_frames(const hub::Fanout& f, unsigned shard) {
  auto& cache = f.cache(shard);
  if (!cache) {
    cache = std::make_unique<SharedFrames>();
  }
  // SharedFrames is the only ShardCache type: transports share one cache per shard.
  return static_cast<SharedFrames&>(*cache);
}

const SharedFrames* find_shared_frames(const hub::Fanout& f, unsigned shard) {
  return static_cast<const SharedFrames*>(f.cache(shard).get());
}

const std::string& shared_ws_frame(const hub::Fanout& f, unsigned shard,
                                   protocol::ProtocolType protocol, hub::Fanout::Form form,
                                   bool uni) {
  SharedFrames& slot = shared_frames(f, shard);
  const protocol::Codec& codec = protocol == protocol::ProtocolType::kProtobuf
                                     ? protocol::protobuf_codec()
                                     : protocol::json_codec();
  std::string* frame = nullptr;
  if (uni) {
    // Unidirectional subscriptions never negotiate delta: the plain push, unwrapped.
    frame = &slot.ws_uni_frame;
    if (frame->empty()) {
      frame_into(*frame, bare_push(f.json), ws::kText);
    }
  } else if (protocol == protocol::ProtocolType::kJson) {
    frame = form == hub::Fanout::Form::kPlain       ? &slot.ws_frame
            : form == hub::Fanout::Form::kDeltaFull ? &slot.ws_delta_full
                                                    : &slot.ws_delta_patch;
    if (frame->empty()) {
      if (form == hub::Fanout::Form::kPlain) {
        frame_into(*frame, f.json, ws::kText);
      } else {
        frame_into(*frame, encode_push(f, codec, form), ws::kText);
      }
    }
  } else {
    frame = form == hub::Fanout::Form::kDeltaPatch ? &slot.ws_pb_patch : &slot.ws_pb_frame;
    if (frame->empty()) {
      std::string msg = encode_push(f, codec, form);
      std::string body;
      append_varint(body, msg.size());
      body.append(msg);
      frame_into(*frame, body, ws::kBinary);
    }
  }
  return *frame;
}

std::string_view shared_push_body(const hub::Fanout& f, unsigned shard,
                                  protocol::ProtocolType protocol, hub::Fanout::Form form) {
  if (protocol == protocol::ProtocolType::kJson && form == hub::Fanout::Form::kPlain) {
    return f.json;
  }
  const std::string& frame = shared_ws_frame(f, shard, protocol, form, false);
  ws::FrameHeader h;
  auto r = ws::parse_header(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), h);
  if (r != ws::ParseResult::kOk || h.header_len > frame.size()) {
    return {};
  }
  return std::string_view(frame).substr(h.header_len);
}

std::string_view bare_push(std::string_view reply_push) {
  constexpr std::string_view kPrefix = "{\"push\":";
  if (reply_push.starts_with(kPrefix) && reply_push.ends_with('}')) {
    return reply_push.substr(kPrefix.size(), reply_push.size() - kPrefix.size() - 1);
  }
  return reply_push;
}

}  // namespace gyre::transport
