#include "engine/redis/redis_codec.h"

#include <algorithm>
#include <charconv>

#include "protocol/protobuf_wire.h"

namespace gyre::engine::redis {

namespace pb = protocol::pb;

namespace {

template <pb::Sink S>
void write_info(S& s, const protocol::ClientInfo& i) {
  pb::put_bytes(s, 1, i.user);
  pb::put_bytes(s, 2, i.client);
  pb::put_bytes(s, 3, i.conn_info);
  pb::put_bytes(s, 4, i.chan_info);
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

// Splits "<a>:" off the front of `s`.
bool take_until_colon(std::string_view& s, std::string_view& head) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  head = s.substr(0, colon);
  s.remove_prefix(colon + 1);
  return true;
}

// "<len>:<bytes>" with exactly len bytes.
bool take_sized(std::string_view& s, std::string_view& out) {
  std::string_view len_text;
  uint64_t len = 0;
  if (!take_until_colon(s, len_text) || !parse_u64(len_text, len) || len > s.size()) {
    return false;
  }
  out = s.substr(0, len);
  s.remove_prefix(len);
  return true;
}

}  // namespace

std::optional<std::string> RedisKeys::channel_of(std::string_view pubsub_channel) const {
  std::string head = prefix_ + ".client.";
  if (!pubsub_channel.starts_with(head)) {
    return std::nullopt;
  }
  return std::string(pubsub_channel.substr(head.size()));
}

std::string encode_publication(const protocol::Publication& p) {
  std::string out;
  pb::append_message(out, [&](auto& s) {
    pb::put_bytes(s, 4, p.data);
    if (p.info) {
      pb::put_message(s, 5, [&](auto& w) { write_info(w, *p.info); });
    }
    pb::put_uint(s, 6, p.offset);
    for (const auto& [k, v] : p.tags) {
      pb::put_message(s, 7, [&](auto& w) {
        pb::put_bytes_always(w, 1, k);
        pb::put_bytes_always(w, 2, v);
      });
    }
    pb::put_bool(s, 8, p.delta);
    pb::put_int(s, 9, p.time);
  });
  return out;
}

bool decode_client_info(std::string_view bytes, protocol::ClientInfo& out) {
  return pb::for_each_field(bytes, [&](const pb::Field& f) {
    switch (f.number) {
      case 1:
        return pb::read(f, out.user);
      case 2:
        return pb::read(f, out.client);
      case 3:
        return pb::read(f, out.conn_info);
      case 4:
        return pb::read(f, out.chan_info);
      default:
        return true;  // unknown fields are skipped, as proto3 does
    }
  });
}

bool decode_publication(std::string_view bytes, protocol::Publication& out) {
  return pb::for_each_field(bytes, [&](const pb::Field& f) {
    switch (f.number) {
      case 4:
        return pb::read(f, out.data);
      case 5: {
        if (f.type != pb::kLen) {
          return false;
        }
        protocol::ClientInfo info;
        if (!decode_client_info(f.bytes, info)) {
          return false;
        }
        out.info = std::move(info);
        return true;
      }
      case 6:
        return pb::read(f, out.offset);
      case 7: {
        if (f.type != pb::kLen) {
          return false;
        }
        std::string k;
        std::string v;
        bool ok = pb::for_each_field(f.bytes, [&](const pb::Field& e) {
          if (e.number == 1) {
            return pb::read(e, k);
          }
          if (e.number == 2) {
            return pb::read(e, v);
          }
          return true;
        });
        if (!ok) {
          return false;
        }
        // Later duplicates win, as Go's map decoding; keep the vector sorted by key.
        auto it = std::lower_bound(out.tags.begin(), out.tags.end(), k,
                                   [](const auto& e, const std::string& key) { return e.first < key; });
        if (it != out.tags.end() && it->first == k) {
          it->second = std::move(v);
        } else {
          out.tags.emplace(it, std::move(k), std::move(v));
        }
        return true;
      }
      case 8:
        return pb::read(f, out.delta);
      case 9:
        return pb::read(f, out.time);
      default:
        return true;
    }
  });
}

std::string encode_client_info(const protocol::ClientInfo& i) {
  std::string out;
  pb::append_message(out, [&](auto& s) { write_info(s, i); });
  return out;
}

std::optional<PubSubMessage> parse_pubsub_message(std::string_view data) {
  PubSubMessage m;
  if (!data.starts_with("__")) {
    m.payload = data;
    return m;
  }
  std::string_view rest = data.substr(2);
  if (rest.starts_with("j__")) {
    m.type = PubSubMessage::Type::kJoin;
    m.payload = rest.substr(3);
    return m;
  }
  if (rest.starts_with("l__")) {
    m.type = PubSubMessage::Type::kLeave;
    m.payload = rest.substr(3);
    return m;
  }
  if (rest.starts_with("p1:")) {
    rest.remove_prefix(3);
    auto end = rest.find("__");
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view header = rest.substr(0, end);
    m.payload = rest.substr(end + 2);
    std::string_view offset_text;
    if (!take_until_colon(header, offset_text) || !parse_u64(offset_text, m.offset)) {
      return std::nullopt;
    }
    m.epoch = header;
    return m;
  }
  if (rest.starts_with("d1:")) {
    rest.remove_prefix(3);
    std::string_view offset_text;
    if (!take_until_colon(rest, offset_text) || !parse_u64(offset_text, m.offset) ||
        !take_until_colon(rest, m.epoch) || !take_sized(rest, m.prev_payload) ||
        !rest.starts_with(':')) {
      return std::nullopt;
    }
    rest.remove_prefix(1);
    if (!take_sized(rest, m.payload) || !rest.empty()) {
      return std::nullopt;
    }
    m.delta = true;
    return m;
  }
  // "__" then anything else is malformed, as for centrifuge (a protobuf Publication never
  // starts with '_': that would be field 11 with the invalid wire type 7).
  return std::nullopt;
}

std::string join_message(const protocol::ClientInfo& info) {
  return "__j__" + encode_client_info(info);
}

std::string leave_message(const protocol::ClientInfo& info) {
  return "__l__" + encode_client_info(info);
}

}  // namespace gyre::engine::redis
