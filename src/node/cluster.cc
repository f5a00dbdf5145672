#include "node/cluster.h"

#include <algorithm>

#include "channel/channel.h"
#include "core/glob.h"
#include "core/log.h"
#include "metrics/names.h"
#include "metrics/process.h"
#include "node/client.h"
#include "node/node.h"

namespace gyre::node {

namespace {

// Runs `fn` on `origin` (posted), or at once outside the shards.
template <typename F>
void answer_on(Shard* origin, F&& fn) {
  if (origin != nullptr) {
    origin->post(std::forward<F>(fn));
  } else {
    std::forward<F>(fn)();
  }
}

}  // namespace

Cluster::Cluster(Node& node)
    : node_(node),
      timer_(node.shards().at(0).io()),
      metrics_timer_(node.shards().at(0).io()) {}

Cluster::~Cluster() = default;

void Cluster::start() {
  node_.shards().at(0).post([this] {
    // centrifuge: 0 means the default.
    auto interval = node_.config()->node_info_metrics_aggregate_interval;
    if (interval.count() > 0) {
      metrics_interval_ = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
    }
    publish_info("");
    arm();
    // The start snapshot (Centrifugo exports one at start) rides on the next node info.
    aggregate_metrics(false);
    arm_metrics();
  });
}

void Cluster::arm_metrics() {
  if (stopped_) {
    return;
  }
  metrics_timer_.expires_after(metrics_interval_);
  metrics_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) {
      aggregate_metrics(true);
      arm_metrics();
    }
  });
}

void Cluster::aggregate_metrics(bool remember) {
  node_.collect_metrics([this, remember](metrics::Snapshot values) {
    const auto& reg = metrics::registry();
    metrics::collect_process(reg, values);
    // This node plus the peers it knows (the registry lives here, on shard 0).
    values.at(reg, metrics::ids().node_num_nodes, {}).value =
        static_cast<double>(peers_.size() + 1);
    control::Metrics m;
    m.interval = std::chrono::duration<double>(metrics_interval_).count();
    m.items = aggregator_.flatten(reg, values, remember);
    pending_metrics_ = std::move(m);
  });
}

void Cluster::stop(std::function<void()> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, origin, done = std::move(done)]() mutable {
    stopped_ = true;
    timer_.cancel();
    metrics_timer_.cancel();
    control::Command cmd;
    cmd.shutdown = true;
    publish(std::move(cmd), "", [origin, done = std::move(done)](OpResult<bool>) mutable {
      answer_on(origin, std::move(done));
    });
  });
}

void Cluster::arm() {
  if (stopped_) {
    return;
  }
  timer_.expires_after(kInfoInterval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      tick();
    }
  });
}

void Cluster::tick() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(peers_, [now](const auto& kv) {
    if (now - kv.second.seen > kMaxDelay) {
      logging::info("node left the cluster", {{"node", kv.first},
                                              {"name", kv.second.info.name},
                                              {"silent_seconds", kMaxDelay.count()}});
      return true;
    }
    return false;
  });
  publish_info("");
  arm();
}

void Cluster::publish_info(std::string to_node) {
  node_.stats([this, to_node = std::move(to_node)](Node::Stats s) mutable {
    control::Command cmd;
    auto& n = cmd.node.emplace();
    n.uid = node_.id();
    n.name = node_.name();
    n.version = std::string(Node::kVersion);
    n.num_clients = static_cast<uint32_t>(s.num_clients);
    n.num_users = static_cast<uint32_t>(s.num_users);
    n.num_channels = static_cast<uint32_t>(s.num_channels);
    n.num_subs = static_cast<uint32_t>(s.num_subs);
    n.uptime = static_cast<uint32_t>(std::max<int64_t>(0, node_.uptime_seconds()));
    if (pending_metrics_ && to_node.empty()) {
      // Sent once per snapshot, as centrifuge (receivers keep it until the next one); only
      // to every node, so that a newcomer's own copy does not use it up.
      n.metrics = std::move(pending_metrics_);
      pending_metrics_.reset();
      sent_metrics_ = n.metrics;
    }
    publish(std::move(cmd), to_node, {});
  });
}

void Cluster::publish(control::Command cmd, std::string to_node, OpCallback<bool> done) {
  cmd.uid = node_.id();
  node_.engine().publish_control(control::encode(cmd), std::move(to_node),
                                 [done = std::move(done)](OpResult<bool> r) {
                                   if (!r) {
                                     logging::debug("error publishing node control command",
                                                    {{"error", r.error().message}});
                                   }
                                   if (done) {
                                     done(std::move(r));
                                   }
                                 });
}

void Cluster::broadcast(control::Command cmd, OpCallback<bool> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, cmd = std::move(cmd), origin,
                             done = std::move(done)]() mutable {
    publish(std::move(cmd), "", [origin, done = std::move(done)](OpResult<bool> r) mutable {
      answer_on(origin, [done = std::move(done), r = std::move(r)]() mutable {
        done(std::move(r));
      });
    });
  });
}

void Cluster::peers(std::function<void(std::vector<control::NodeInfo>)> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, origin, done = std::move(done)]() mutable {
    std::vector<control::NodeInfo> out;
    out.reserve(peers_.size());
    for (const auto& [uid, p] : peers_) {
      out.push_back(p.info);
    }
    answer_on(origin, [done = std::move(done), out = std::move(out)]() mutable {
      done(std::move(out));
    });
  });
}

void Cluster::own_metrics(std::function<void(std::optional<control::Metrics>)> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, origin, done = std::move(done)]() mutable {
    answer_on(origin, [done = std::move(done), m = sent_metrics_]() mutable {
      done(std::move(m));
    });
  });
}

// ------------------------------------------------------------------ incoming (shard 0)

void Cluster::handle(std::string data) {
  auto cmd = control::decode(data);
  if (!cmd) {
    logging::error("error decoding control command",
                   {{"error", "undecodable control message"}, {"size", data.size()}});
    return;
  }
  if (cmd->uid == node_.id()) {
    return;  // sent by this node
  }
  if (cmd->node) {
    on_node(std::move(*cmd->node));
  } else if (cmd->shutdown) {
    if (peers_.erase(cmd->uid) > 0) {
      logging::info("node shut down", {{"node", cmd->uid}});
    }
  } else if (cmd->unsubscribe) {
    auto& u = *cmd->unsubscribe;
    node_.for_each_connection(
        std::move(u.user), std::move(u.client), std::move(u.session),
        [ch = std::move(u.channel)](Client& c) { c.api_unsubscribe(ch); }, [] {});
  } else if (cmd->subscribe) {
    auto& s = *cmd->subscribe;
    SubscribeParams p;
    p.channel = s.channel;
    p.server_side = true;
    p.emit_presence = s.emit_presence;
    p.emit_join_leave = s.emit_join_leave;
    p.push_join_leave = s.push_join_leave;
    p.positioned = s.position;
    p.recoverable = s.recover;
    p.chan_info = std::move(s.channel_info);
    p.data = std::move(s.data);
    p.expire_at = s.expire_at;
    if (s.recover_since) {
      p.recover = true;
      p.offset = s.recover_since->offset;
      p.epoch = s.recover_since->epoch;
    }
    const auto& cfg = *node_.config();
    channel::Resolved resolved;
    p.meta_ttl = channel::resolve(cfg, s.channel, resolved) ? cfg.meta_ttl(*resolved.options)
                                                            : cfg.global_history_meta_ttl;
    node_.for_each_connection(
        std::move(s.user), std::move(s.client), std::move(s.session),
        [p = std::move(p)](Client& c) { c.api_subscribe(p); }, [] {});
  } else if (cmd->disconnect) {
    auto& d = *cmd->disconnect;
    node_.for_each_connection(
        std::move(d.user), std::move(d.client), std::move(d.session),
        [code = d.code, reason = std::move(d.reason),
         whitelist = std::move(d.whitelist)](Client& c) {
          if (std::find(whitelist.begin(), whitelist.end(), c.id()) != whitelist.end()) {
            return;
          }
          c.disconnect(gyre::Disconnect{code, reason});
        },
        [] {});
  } else if (cmd->refresh) {
    auto& r = *cmd->refresh;
    node_.for_each_connection(
        std::move(r.user), std::move(r.client), std::move(r.session),
        [expired = r.expired, expire_at = r.expire_at, info = std::move(r.info)](Client& c) {
          c.api_refresh(expired, expire_at, info);
        },
        [] {});
  } else if (cmd->survey_request) {
    on_survey_request(cmd->uid, std::move(*cmd->survey_request));
  } else if (cmd->survey_response) {
    on_survey_response(cmd->uid, std::move(*cmd->survey_response));
  }
  // Notifications: Centrifugo OSS registers no handler (and neither does Gyre).
}

void Cluster::on_node(control::NodeInfo info) {
  if (info.uid.empty() || info.uid == node_.id()) {
    return;
  }
  auto [it, inserted] = peers_.try_emplace(info.uid);
  it->second.seen = std::chrono::steady_clock::now();
  if (inserted) {
    logging::info("node joined the cluster",
                  {{"node", info.uid}, {"name", info.name}, {"version", info.version}});
  }
  std::string uid = info.uid;
  if (!info.metrics && it->second.info.metrics) {
    info.metrics = std::move(it->second.info.metrics);  // sent once a minute: kept (centrifuge)
  }
  it->second.info = std::move(info);
  if (inserted && !stopped_) {
    publish_info(uid);  // the newcomer learns about this node at once
  }
}

void Cluster::on_survey_request(const std::string& from, control::SurveyRequest req) {
  if (req.op == control::kEmulationOp) {
    auto er = control::decode_emulation_request(req.data);
    if (!er) {
      answer_survey(from, req.id, control::kEmulationBadRequest, "");
      return;
    }
    if (!emulation_) {
      answer_survey(from, req.id, control::kEmulationNoSession, "");
      return;
    }
    emulation_(std::move(er->session), std::move(er->data),
               [this, from, id = req.id](uint32_t code) { answer_survey(from, id, code, ""); });
    return;
  }
  if (req.op != control::kChannelsOp) {
    answer_survey(from, req.id, control::kSurveyMethodNotFound, "");
    return;
  }
  auto pattern = control::decode_channels_request(req.data);
  if (!pattern) {
    answer_survey(from, req.id, control::kSurveyInvalidRequest, "");
    return;
  }
  std::optional<Glob> glob;
  if (!pattern->empty()) {
    glob = Glob::compile(*pattern);
    if (!glob) {
      answer_survey(from, req.id, control::kSurveyInvalidRequest, "");
      return;
    }
  }
  node_.channel_counts([this, from, id = req.id,
                        glob = std::move(glob)](std::map<std::string, uint64_t> counts) {
    std::map<std::string, uint32_t> out;
    for (const auto& [name, n] : counts) {
      if (!glob || glob->match(name)) {
        out.emplace(name, static_cast<uint32_t>(n));
      }
    }
    answer_survey(from, id, 0, control::encode_channels_result(out));
  });
}

void Cluster::answer_survey(const std::string& to, uint64_t id, uint32_t code,
                            std::string data) {
  control::Command cmd;
  cmd.survey_response = control::SurveyResponse{id, code, std::move(data)};
  publish(std::move(cmd), to, {});
}

void Cluster::on_survey_response(const std::string& from, control::SurveyResponse resp) {
  auto it = surveys_.find(resp.id);
  if (it == surveys_.end()) {
    return;  // late (timed out) or not ours
  }
  const uint64_t id = resp.id;
  it->second.results[from] = std::move(resp);
  if (it->second.results.size() >= it->second.expected) {
    finish_survey(id, false);
  }
}

void Cluster::finish_survey(uint64_t id, bool timed_out) {
  auto it = surveys_.find(id);
  if (it == surveys_.end()) {
    return;
  }
  Survey s = std::move(it->second);
  surveys_.erase(it);
  if (s.timer) {
    s.timer->cancel();
  }
  if (timed_out) {
    logging::warn("survey timed out",
                  {{"id", id}, {"answered", s.results.size()}, {"expected", s.expected}});
    s.done(std::unexpected(errors::internal()));
    return;
  }
  s.done(std::move(s.results));
}

// ------------------------------------------------------------------ surveys

void Cluster::survey(std::string op, std::string data, std::string to_node,
                     OpCallback<SurveyResults> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, op = std::move(op), data = std::move(data),
                             to_node = std::move(to_node), origin,
                             done = std::move(done)]() mutable {
    survey_on_shard0(std::move(op), std::move(data), std::move(to_node),
                     [origin, done = std::move(done)](OpResult<SurveyResults> r) mutable {
                       answer_on(origin, [done = std::move(done), r = std::move(r)]() mutable {
                         done(std::move(r));
                       });
                     });
  });
}

void Cluster::survey_on_shard0(std::string op, std::string data, std::string to_node,
                               OpCallback<SurveyResults> done) {
  const size_t expected = to_node.empty() ? peers_.size() : 1;
  if (expected == 0) {
    done(SurveyResults{});
    return;
  }
  const uint64_t id = ++next_survey_id_;
  Survey& s = surveys_[id];
  s.expected = expected;
  s.done = std::move(done);
  s.timer = std::make_unique<boost::asio::steady_timer>(node_.shards().at(0).io());
  s.timer->expires_after(kSurveyTimeout);
  s.timer->async_wait([this, id](boost::system::error_code ec) {
    if (!ec) {
      finish_survey(id, true);
    }
  });
  control::Command cmd;
  cmd.survey_request = control::SurveyRequest{id, std::move(op), std::move(data)};
  publish(std::move(cmd), std::move(to_node), [this, id](OpResult<bool> r) {
    if (!r) {
      auto it = surveys_.find(id);
      if (it == surveys_.end()) {
        return;
      }
      Survey s = std::move(it->second);
      surveys_.erase(it);
      s.timer->cancel();
      s.done(std::unexpected(r.error()));
    }
  });
}

void Cluster::forward_emulation(std::string to_node, std::string session, std::string data,
                                std::function<void(int status)> done) {
  Shard* origin = Shard::current();
  node_.shards().at(0).post([this, to_node = std::move(to_node), session = std::move(session),
                             data = std::move(data), origin,
                             done = std::move(done)]() mutable {
    auto reply = [origin, done = std::move(done)](int status) mutable {
      answer_on(origin, [done = std::move(done), status] { done(status); });
    };
    if (peers_.find(to_node) == peers_.end()) {
      reply(404);
      return;
    }
    std::string req = control::encode_emulation_request(to_node, session, data);
    survey_on_shard0(std::string(control::kEmulationOp), std::move(req), to_node,
                     [reply = std::move(reply)](OpResult<SurveyResults> r) mutable {
                       // centrifuge answers 204 whatever the code (a gone session drops the
                       // commands), 500 when the node did not answer.
                       reply(r ? 204 : 500);
                     });
  });
}

}  // namespace gyre::node
