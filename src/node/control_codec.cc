#include "node/control_codec.h"

#include <bit>

#include "protocol/protobuf_wire.h"

namespace gyre::node::control {

namespace pb = protocol::pb;

namespace {

template <pb::Sink S>
void put_double(S& s, uint32_t field, double v) {
  if (v == 0) {
    return;
  }
  s.varint(pb::make_tag(field, pb::kFixed64));
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  char le[8];
  for (int i = 0; i < 8; ++i) {
    le[i] = static_cast<char>(bits >> (8 * i));
  }
  s.raw(std::string_view(le, 8));
}

template <pb::Sink S>
void put_metrics(S& s, const Metrics& m) {
  put_double(s, 1, m.interval);
  for (const auto& [k, v] : m.items) {
    pb::put_message(s, 2, [&](auto& e) {
      pb::put_bytes_always(e, 1, k);
      put_double(e, 2, v);
    });
  }
}

bool read_double(const pb::Field& f, double& out) {
  if (f.type != pb::kFixed64) {
    return false;
  }
  out = std::bit_cast<double>(f.fixed);
  return true;
}

bool read_metrics(std::string_view b, Metrics& m) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    if (f.number == 1) {
      return read_double(f, m.interval);
    }
    if (f.number != 2) {
      return true;
    }
    if (f.type != pb::kLen) {
      return false;
    }
    std::string key;
    double value = 0;
    bool ok = pb::for_each_field(f.bytes, [&](const pb::Field& e) {
      if (e.number == 1) {
        return pb::read(e, key);
      }
      if (e.number == 2) {
        return read_double(e, value);
      }
      return true;
    });
    if (ok) {
      m.items[std::move(key)] = value;
    }
    return ok;
  });
}

template <pb::Sink S>
void put_node(S& s, const NodeInfo& n) {
  pb::put_bytes(s, 1, n.uid);
  pb::put_bytes(s, 2, n.name);
  pb::put_bytes(s, 3, n.version);
  pb::put_uint(s, 4, n.num_clients);
  pb::put_uint(s, 5, n.num_users);
  pb::put_uint(s, 6, n.num_channels);
  pb::put_uint(s, 7, n.uptime);
  if (n.metrics) {
    pb::put_message(s, 8, [&](auto& in) { put_metrics(in, *n.metrics); });
  }
  pb::put_bytes(s, 9, n.data);
  pb::put_uint(s, 10, n.num_subs);
}

template <pb::Sink S>
void put_subscribe(S& s, const Subscribe& m) {
  pb::put_bytes(s, 1, m.user);
  pb::put_bytes(s, 2, m.channel);
  pb::put_bool(s, 3, m.emit_presence);
  pb::put_bool(s, 4, m.emit_join_leave);
  pb::put_int(s, 5, m.expire_at);
  pb::put_bool(s, 6, m.position);
  pb::put_bool(s, 7, m.recover);
  pb::put_bytes(s, 8, m.channel_info);
  pb::put_bytes(s, 9, m.client);
  pb::put_bytes(s, 10, m.data);
  if (m.recover_since) {
    pb::put_message(s, 11, [&](auto& in) {
      pb::put_uint(in, 1, m.recover_since->offset);
      pb::put_bytes(in, 2, m.recover_since->epoch);
    });
  }
  pb::put_bytes(s, 12, m.session);
  pb::put_bool(s, 13, m.push_join_leave);
  pb::put_uint(s, 14, m.source);
}

template <pb::Sink S>
void put_unsubscribe(S& s, const Unsubscribe& m) {
  pb::put_bytes(s, 1, m.channel);
  pb::put_bytes(s, 2, m.user);
  pb::put_bytes(s, 3, m.client);
  pb::put_bytes(s, 4, m.session);
  pb::put_uint(s, 5, m.code);
  pb::put_bytes(s, 6, m.reason);
}

template <pb::Sink S>
void put_disconnect(S& s, const Disconnect& m) {
  pb::put_bytes(s, 1, m.user);
  for (const auto& w : m.whitelist) {
    pb::put_bytes_always(s, 2, w);
  }
  pb::put_uint(s, 3, m.code);
  pb::put_bytes(s, 4, m.reason);
  pb::put_bool(s, 5, m.reconnect);
  pb::put_bytes(s, 6, m.client);
  pb::put_bytes(s, 7, m.session);
}

template <pb::Sink S>
void put_refresh(S& s, const Refresh& m) {
  pb::put_bytes(s, 1, m.user);
  pb::put_bytes(s, 2, m.client);
  pb::put_bool(s, 3, m.expired);
  pb::put_int(s, 4, m.expire_at);
  pb::put_bytes(s, 5, m.info);
  pb::put_bytes(s, 6, m.session);
}

bool read_node(std::string_view b, NodeInfo& n) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, n.uid);
      case 2: return pb::read(f, n.name);
      case 3: return pb::read(f, n.version);
      case 4: return pb::read(f, n.num_clients);
      case 5: return pb::read(f, n.num_users);
      case 6: return pb::read(f, n.num_channels);
      case 7: return pb::read(f, n.uptime);
      case 8:
        n.metrics.emplace();
        return f.type == pb::kLen && read_metrics(f.bytes, *n.metrics);
      case 9: return pb::read(f, n.data);
      case 10: return pb::read(f, n.num_subs);
      default: return true;
    }
  });
}

bool read_position(std::string_view b, StreamPosition& p) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, p.offset);
      case 2: return pb::read(f, p.epoch);
      default: return true;
    }
  });
}

bool read_subscribe(std::string_view b, Subscribe& m) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, m.user);
      case 2: return pb::read(f, m.channel);
      case 3: return pb::read(f, m.emit_presence);
      case 4: return pb::read(f, m.emit_join_leave);
      case 5: return pb::read(f, m.expire_at);
      case 6: return pb::read(f, m.position);
      case 7: return pb::read(f, m.recover);
      case 8: return pb::read(f, m.channel_info);
      case 9: return pb::read(f, m.client);
      case 10: return pb::read(f, m.data);
      case 11:
        m.recover_since.emplace();
        return f.type == pb::kLen && read_position(f.bytes, *m.recover_since);
      case 12: return pb::read(f, m.session);
      case 13: return pb::read(f, m.push_join_leave);
      case 14: return pb::read(f, m.source);
      default: return true;
    }
  });
}

bool read_unsubscribe(std::string_view b, Unsubscribe& m) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, m.channel);
      case 2: return pb::read(f, m.user);
      case 3: return pb::read(f, m.client);
      case 4: return pb::read(f, m.session);
      case 5: return pb::read(f, m.code);
      case 6: return pb::read(f, m.reason);
      default: return true;
    }
  });
}

bool read_disconnect(std::string_view b, Disconnect& m) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, m.user);
      case 2: return pb::read(f, m.whitelist.emplace_back());
      case 3: return pb::read(f, m.code);
      case 4: return pb::read(f, m.reason);
      case 5: return pb::read(f, m.reconnect);
      case 6: return pb::read(f, m.client);
      case 7: return pb::read(f, m.session);
      default: return true;
    }
  });
}

bool read_refresh(std::string_view b, Refresh& m) {
  return pb::for_each_field(b, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, m.user);
      case 2: return pb::read(f, m.client);
      case 3: return pb::read(f, m.expired);
      case 4: return pb::read(f, m.expire_at);
      case 5: return pb::read(f, m.info);
      case 6: return pb::read(f, m.session);
      default: return true;
    }
  });
}

// A sub-message field: `read` fills `slot` (emplaced) from the field's bytes.
template <typename T, typename Read>
bool sub(const pb::Field& f, std::optional<T>& slot, Read read) {
  if (f.type != pb::kLen) {
    return false;
  }
  slot.emplace();
  return read(f.bytes, *slot);
}

}  // namespace

std::string encode(const Command& cmd) {
  std::string out;
  pb::append_message(out, [&](auto& s) {
    pb::put_bytes(s, 1, cmd.uid);
    if (cmd.node) {
      pb::put_message(s, 4, [&](auto& in) { put_node(in, *cmd.node); });
    }
    if (cmd.unsubscribe) {
      pb::put_message(s, 5, [&](auto& in) { put_unsubscribe(in, *cmd.unsubscribe); });
    }
    if (cmd.disconnect) {
      pb::put_message(s, 6, [&](auto& in) { put_disconnect(in, *cmd.disconnect); });
    }
    if (cmd.shutdown) {
      pb::put_message(s, 7, [](auto&) {});
    }
    if (cmd.survey_request) {
      pb::put_message(s, 8, [&](auto& in) {
        pb::put_uint(in, 1, cmd.survey_request->id);
        pb::put_bytes(in, 2, cmd.survey_request->op);
        pb::put_bytes(in, 3, cmd.survey_request->data);
      });
    }
    if (cmd.survey_response) {
      pb::put_message(s, 9, [&](auto& in) {
        pb::put_uint(in, 1, cmd.survey_response->id);
        pb::put_uint(in, 2, cmd.survey_response->code);
        pb::put_bytes(in, 3, cmd.survey_response->data);
      });
    }
    if (cmd.subscribe) {
      pb::put_message(s, 10, [&](auto& in) { put_subscribe(in, *cmd.subscribe); });
    }
    if (cmd.notification) {
      pb::put_message(s, 11, [&](auto& in) {
        pb::put_bytes(in, 1, cmd.notification->op);
        pb::put_bytes(in, 2, cmd.notification->data);
      });
    }
    if (cmd.refresh) {
      pb::put_message(s, 12, [&](auto& in) { put_refresh(in, *cmd.refresh); });
    }
  });
  return out;
}

std::optional<Command> decode(std::string_view data) {
  Command cmd;
  bool ok = pb::for_each_field(data, [&](const pb::Field& f) {
    switch (f.number) {
      case 1:
        return pb::read(f, cmd.uid);
      case 4:
        return sub(f, cmd.node, read_node);
      case 5:
        return sub(f, cmd.unsubscribe, read_unsubscribe);
      case 6:
        return sub(f, cmd.disconnect, read_disconnect);
      case 7:
        cmd.shutdown = true;
        return f.type == pb::kLen;
      case 8:
        return sub(f, cmd.survey_request, [](std::string_view b, SurveyRequest& m) {
          return pb::for_each_field(b, [&](const pb::Field& g) {
            switch (g.number) {
              case 1: return pb::read(g, m.id);
              case 2: return pb::read(g, m.op);
              case 3: return pb::read(g, m.data);
              default: return true;
            }
          });
        });
      case 9:
        return sub(f, cmd.survey_response, [](std::string_view b, SurveyResponse& m) {
          return pb::for_each_field(b, [&](const pb::Field& g) {
            switch (g.number) {
              case 1: return pb::read(g, m.id);
              case 2: return pb::read(g, m.code);
              case 3: return pb::read(g, m.data);
              default: return true;
            }
          });
        });
      case 10:
        return sub(f, cmd.subscribe, read_subscribe);
      case 11:
        return sub(f, cmd.notification, [](std::string_view b, Notification& m) {
          return pb::for_each_field(b, [&](const pb::Field& g) {
            switch (g.number) {
              case 1: return pb::read(g, m.op);
              case 2: return pb::read(g, m.data);
              default: return true;
            }
          });
        });
      case 12:
        return sub(f, cmd.refresh, read_refresh);
      default:
        return true;
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return cmd;
}

std::string encode_channels_request(std::string_view pattern) {
  std::string out;
  pb::append_message(out, [&](auto& s) { pb::put_bytes(s, 1, pattern); });
  return out;
}

std::optional<std::string> decode_channels_request(std::string_view data) {
  std::string pattern;
  bool ok = pb::for_each_field(data, [&](const pb::Field& f) {
    return f.number == 1 ? pb::read(f, pattern) : true;
  });
  if (!ok) {
    return std::nullopt;
  }
  return pattern;
}

std::string encode_channels_result(const std::map<std::string, uint32_t>& channels) {
  std::string out;
  pb::append_message(out, [&](auto& s) {
    for (const auto& [name, n] : channels) {
      pb::put_message(s, 1, [&](auto& entry) {
        pb::put_bytes_always(entry, 1, name);
        pb::put_message(entry, 2, [&](auto& info) { pb::put_uint(info, 1, n); });
      });
    }
  });
  return out;
}

std::optional<std::map<std::string, uint32_t>> decode_channels_result(std::string_view data) {
  std::map<std::string, uint32_t> out;
  bool ok = pb::for_each_field(data, [&](const pb::Field& f) {
    if (f.number != 1) {
      return true;
    }
    if (f.type != pb::kLen) {
      return false;
    }
    std::string name;
    uint32_t n = 0;
    bool entry_ok = pb::for_each_field(f.bytes, [&](const pb::Field& e) {
      if (e.number == 1) {
        return pb::read(e, name);
      }
      if (e.number == 2) {
        return e.type == pb::kLen && pb::for_each_field(e.bytes, [&](const pb::Field& i) {
                 return i.number == 1 ? pb::read(i, n) : true;
               });
      }
      return true;
    });
    if (!entry_ok) {
      return false;
    }
    out[name] = n;
    return true;
  });
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

std::string encode_emulation_request(std::string_view node, std::string_view session,
                                     std::string_view data) {
  std::string out;
  pb::append_message(out, [&](auto& s) {
    pb::put_bytes(s, 1, node);
    pb::put_bytes(s, 2, session);
    pb::put_bytes(s, 3, data);
  });
  return out;
}

std::optional<EmulationRequest> decode_emulation_request(std::string_view data) {
  EmulationRequest req;
  bool ok = pb::for_each_field(data, [&](const pb::Field& f) {
    switch (f.number) {
      case 1: return pb::read(f, req.node);
      case 2: return pb::read(f, req.session);
      case 3: return pb::read(f, req.data);
      default: return true;
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return req;
}

}  // namespace gyre::node::control
