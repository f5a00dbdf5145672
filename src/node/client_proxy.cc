// Proxy calls of a client session (server-api.md §4): the command waits for the backend's
// answer, then the answer is applied as Centrifugo applies it. Later commands of the
// connection stay queued behind the call (it counts as an in-flight command), so their order
// is kept.
#include "core/log.h"
#include "node/client.h"
#include "node/node.h"

namespace gyre::node {

using protocol::Command;

namespace {

// Centrifugo's "error proxying <call>" line (error level; fields in zerolog's sorted order of
// centrifuge's map fields). `what`: connect, refresh, rpc, subscribe, publish, sub refresh.
void log_proxy_error(std::string_view what, std::string_view client, std::string_view user,
                     std::string_view error) {
  const std::string message =
      "error proxying " + (what == "rpc" ? std::string("RPC") : std::string(what));
  if (user.empty()) {
    logging::error(message, {{"client", client}, {"error", error}});
  } else {
    logging::error(message, {{"client", client}, {"error", error}, {"user", user}});
  }
}

// The backend's answer as a decoded reply: a 200 body decoded by `decode`, or a non-200
// status matched by one of `transforms_of`'s status transforms (server-api.md §4.10; null:
// transforms do not apply). nullopt: a transport failure, logged.
template <class R>
std::optional<proxy::Reply<R>> answer_of(const proxy::HttpResponse& r,
                                         const proxy::ProxyConfig* transforms_of,
                                         std::optional<proxy::Reply<R>> (*decode)(std::string_view),
                                         std::string_view what, std::string_view client,
                                         std::string_view user) {
  if (r.status == 0) {
    log_proxy_error(what, client, user, r.body);
    return std::nullopt;
  }
  if (r.status != 200) {
    if (transforms_of != nullptr) {
      if (auto t = proxy::transform_status(*transforms_of, r.status)) {
        proxy::Reply<R> out;
        out.error = std::move(t->error);
        out.disconnect = std::move(t->disconnect);
        return out;
      }
    }
    log_proxy_error(what, client, user, "unexpected HTTP status code: " + std::to_string(r.status));
    return std::nullopt;
  }
  auto reply = decode(r.body);
  if (!reply) {
    log_proxy_error(what, client, user, "undecodable response");
  }
  return reply;
}

}  // namespace

proxy::Caller Client::proxy_caller() const {
  proxy::Caller c;
  c.client = this->id();
  c.transport = transport_info_.name;
  c.protocol = &codec_ == &protocol::protobuf_codec() ? "protobuf" : "json";
  c.user = user_;
  c.meta = cold_view().meta;
  return c;
}

namespace {
// A proxies[] item (v5 granular mode, or a v6 named proxy) rather than the unnamed proxy of a
// kind (v5 default mode, v6 `default`): its subscribe, publish, sub_refresh and rpc calls are
// counted in centrifugo_granular_proxy_*{name,type}, as v5 granular mode counts them.
bool named_proxy(const config::Config& cfg, const proxy::ProxyConfig& p) {
  return cfg.granular_proxy_mode ||
         (cfg.v6_proxies && cfg.proxies_resolved.find(p.name) == &p);
}
}  // namespace

void Client::post_to_proxy(const proxy::ProxyConfig& p, std::string_view type, std::string body,
                           std::function<void(proxy::HttpResponse)> done) {
  proxy::HttpRequest req;
  req.url = p.endpoint;
  req.headers = proxy::request_headers(p, cold_view().request.headers);
  req.body = std::move(body);
  req.timeout = p.timeout;
  const auto started = clock().now();
  // The held config keeps `p` (and the proxy `done` may consult) alive over a reload.
  node_.http_post(std::move(req),
                  [self = shared_from_this(), this, type, started, held_cfg = cfg_,
                   granular = named_proxy(*cfg_, p) && type != "connect" && type != "refresh",
                   name = p.name.empty() ? std::string("__default__") : p.name,
                   done = std::move(done)](
                      proxy::HttpResponse r) {
                    // centrifugo_proxy_*{protocol="http",type}: every call, even when the
                    // client left meanwhile; a transport failure or a non-200 is an error.
                    // Subscribe/publish/rpc/sub_refresh calls to a named proxy (v5
                    // granular mode, v6 proxies[]) go to centrifugo_granular_proxy_*{name,type}
                    // instead.
                    if (auto* m = node_.metrics()) {
                      const auto& mid = metrics::ids();
                      std::chrono::duration<double> d = clock().now() - started;
                      if (granular) {
                        m->observe(mid.granular_proxy_duration_seconds, {name, type}, d.count());
                        m->observe(mid.granular_proxy_duration_seconds_histogram, {name, type},
                                   d.count());
                        if (r.status != 200) {
                          m->inc(mid.granular_proxy_errors, {name, type});
                        }
                      } else {
                        m->observe(mid.proxy_duration_seconds, {"http", type}, d.count());
                        m->observe(mid.proxy_duration_seconds_histogram, {"http", type},
                                   d.count());
                        if (r.status != 200) {
                          m->inc(mid.proxy_errors, {"http", type});
                        }
                      }
                    }
                    if (closed_) {
                      return;  // the client left meanwhile: the answer has no one to go to
                    }
                    done(std::move(r));
                  });
}

void Client::connect_via_proxy(Command& cmd, const proxy::ProxyConfig& p) {
  const uint32_t id = cmd.id;
  auto body = proxy::encode_connect_request(p, proxy_caller(), cmd.connect);
  if (!body) {
    log_proxy_error("connect", this->id(), user_,
                    "connect data is not JSON (enable proxy_binary_encoding for binary payloads)");
    fail_connect(id, errors::internal());
    return;
  }
  ++inflight_;
  connect_inflight_ = true;
  auto held = std::make_shared<protocol::ConnectRequest>(std::move(cmd.connect));
  post_to_proxy(p, "connect", std::move(*body), [this, id, held, pp = &p](proxy::HttpResponse r) {
    --inflight_;
    connect_inflight_ = false;
    in_dispatch_ = true;
    auto reply = answer_of(r, pp, &proxy::decode_connect_reply, "connect", this->id(), user_);
    if (!reply) {
      fail_connect(id, errors::internal());
    } else if (reply->disconnect) {
      fail_connect(id, *reply->disconnect);
    } else if (reply->error) {
      fail_connect(id, *reply->error);
    } else if (reply->result) {
      continue_connect(id, *held, &reply->result->claims, true,
                       std::move(reply->result->data));
    } else {
      // No credentials (`{}`): as a tokenless connect without a proxy.
      continue_connect(id, *held, nullptr, false, {});
    }
    in_dispatch_ = false;
    process_commands();
  });
}

void Client::handle_rpc(Command& cmd) {
  // Without an RPC proxy Centrifugo registers no RPC handler (108, client-protocol.md
  // §4.12); granular mode routes by rpc namespace (104 / 108, server-api.md §4.1.2).
  auto routed = proxy::rpc_proxy(*cfg_, cmd.rpc.method);
  if (!routed) {
    reply_error(cmd.id, routed.error());
    return;
  }
  const proxy::ProxyConfig* p = *routed;
  const uint32_t id = cmd.id;
  auto body = proxy::encode_rpc_request(*p, proxy_caller(), cmd.rpc);
  if (!body) {
    log_proxy_error("rpc", this->id(), user_,
                    "rpc data is not JSON (enable proxy_binary_encoding for binary payloads)");
    reply_error(id, errors::internal());
    return;
  }
  ++inflight_;
  post_to_proxy(*p, "rpc", std::move(*body), [this, id, p](proxy::HttpResponse r) {
    auto reply = answer_of(r, p, &proxy::decode_rpc_reply, "rpc", this->id(), user_);
    if (!reply) {
      reply_error(id, errors::internal());
    } else if (reply->disconnect) {
      close_with(*reply->disconnect);
    } else if (reply->error) {
      reply_error(id, *reply->error);
    } else {
      protocol::RpcResult result;
      if (reply->result) {
        result.data = std::move(reply->result->data);
      }
      std::string out;
      codec_.encode_rpc(out, id, result);
      this->reply(id, std::move(out));
    }
    finish_command();
  });
}

void Client::subscribe_via_proxy(Command& cmd, const proxy::ProxyConfig& p) {
  const uint32_t id = cmd.id;
  auto body = proxy::encode_subscribe_request(p, proxy_caller(), cmd.subscribe.channel,
                                              cmd.subscribe.data);
  if (!body) {
    log_proxy_error("subscribe", this->id(), user_, "subscribe data is not JSON");
    reply_error(id, errors::internal());
    return;
  }
  ++inflight_;
  auto held = std::make_shared<protocol::SubscribeRequest>(std::move(cmd.subscribe));
  post_to_proxy(p, "subscribe", std::move(*body), [this, id, held, pp = &p](proxy::HttpResponse r) {
    --inflight_;
    in_dispatch_ = true;
    auto decided = [&]() -> std::expected<policy::ProxyGrant, Failure> {
      auto reply = answer_of(r, pp, &proxy::decode_subscribe_reply, "subscribe", this->id(), user_);
      if (!reply) {
        return std::unexpected(errors::internal());
      }
      if (reply->disconnect) {
        return std::unexpected(*reply->disconnect);
      }
      if (reply->error) {
        return std::unexpected(*reply->error);
      }
      policy::ProxyGrant grant;  // no result ({}) also means allowed
      if (reply->result) {
        grant.info = std::move(reply->result->info);
        grant.data = std::move(reply->result->data);
        grant.expire_at = reply->result->expire_at;
        grant.override = reply->result->override;
      }
      return grant;
    }();
    if (!decided) {
      fail(id, decided.error());
    } else {
      // The checks before the proxy ran with the state of the time of the command; run them
      // again, as the connection may have subscribed meanwhile (client_concurrency > 1).
      const auto& cfg = *cfg_;
      auto res = policy::check_subscribe(cfg, *held, subs_.size(), subs_.count(held->channel) != 0,
                                         policy::Subject{user_, this->id()});
      if (!res) {
        fail(id, res.error());
      } else {
        auto params =
            policy::authorize_subscribe(cfg, *held, *res, policy::Subject{user_, this->id()},
                                        nullptr, clock().unix_seconds(), &*decided);
        if (!params) {
          fail(id, params.error());
        } else {
          subscribe_authorized(id, std::move(*params));
        }
      }
    }
    in_dispatch_ = false;
    process_commands();
  });
}

void Client::publish_via_proxy(Command& cmd, const proxy::ProxyConfig& p) {
  const uint32_t id = cmd.id;
  auto body = proxy::encode_publish_request(p, proxy_caller(), cmd.publish.channel,
                                            cmd.publish.data);
  if (!body) {
    log_proxy_error("publish", this->id(), user_, "publication data is not JSON");
    reply_error(id, errors::internal());
    return;
  }
  ++inflight_;
  const bool json = codec_.type() == protocol::ProtocolType::kJson;
  auto held = std::make_shared<protocol::PublishRequest>(std::move(cmd.publish));
  post_to_proxy(p, "publish", std::move(*body), [this, id, held, json, pp = &p](proxy::HttpResponse r) {
    --inflight_;
    in_dispatch_ = true;
    auto reply = answer_of(r, pp, &proxy::decode_publish_reply, "publish", this->id(), user_);
    if (!reply) {
      reply_error(id, errors::internal());
    } else if (reply->disconnect) {
      close_with(*reply->disconnect);
    } else if (reply->error) {
      reply_error(id, *reply->error);
    } else {
      std::string data = std::move(held->data);
      bool data_is_json = json;
      bool skip_history = false;
      if (reply->result) {
        skip_history = reply->result->skip_history;
        if (reply->result->data) {
          data = std::move(*reply->result->data);
          data_is_json = json && !reply->result->data_is_binary;
        }
      }
      publish_now(id, held->channel, std::move(data), data_is_json, skip_history);
    }
    in_dispatch_ = false;
    process_commands();
  });
}

void Client::refresh_via_proxy() {
  auto p = proxy::refresh_proxy(*cfg_);
  if (!p) {
    return;
  }
  refresh_inflight_ = true;
  post_to_proxy(*p, "refresh", proxy::encode_refresh_request(*p, proxy_caller()),
                [this](proxy::HttpResponse r) {
                  refresh_inflight_ = false;
                  const int64_t now = clock().unix_seconds();
                  // Status transforms have no effect for refresh (server-api.md §4.10).
                  auto reply = answer_of(r, nullptr, &proxy::decode_refresh_reply, "refresh",
                                         this->id(), user_);
                  if (!reply) {
                    // Transport failure: keep the connection, try again in 60 s.
                    expire_at_ = now + 60;
                    reschedule();
                    return;
                  }
                  if (!reply->result || reply->result->expired) {
                    close_with(disconnects::expired());
                    return;
                  }
                  auto& res = *reply->result;
                  if (res.bad_info) {
                    close_with(disconnects::server_error());
                    return;
                  }
                  if (res.expire_at <= now) {
                    close_with(disconnects::expired());
                    return;
                  }
                  expire_at_ = res.expire_at;
                  if (!res.info.empty()) {
                    set_info(std::move(res.info));
                  }
                  if (res.meta) {
                    set_meta(std::move(*res.meta));
                  }
                  reschedule();
                });
}

void Client::sub_refresh_via_proxy(const std::string& channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end()) {
    return;
  }
  ClientSubscription* s = it->second.get();
  const config::Config& cfg = *cfg_;
  channel::Resolved res;
  const proxy::ProxyConfig* p = nullptr;
  const bool server_side = s->server_side;
  if (channel::resolve(cfg, channel, res)) {
    p = server_side ? proxy::server_side_sub_refresh_proxy(cfg, *res.options)
                    : proxy::sub_refresh_proxy(cfg, *res.options);
  }
  // An expired subscription ends: a server-side one closes the connection (3006), as
  // Centrifugo does for subscriptions the client did not make; others are unsubscribed.
  auto expire = [this, server_side](const std::string& ch) {
    if (server_side) {
      close_with(disconnects::subscription_expired());
    } else {
      remove_subscription(ch, protocol::Unsubscribe{2501, "subscription expired"});
    }
  };
  if (p == nullptr) {
    // No sub refresh proxy for the namespace (granular mode without a name, or none
    // configured): Centrifugo's handler fails, and the subscription expires.
    expire(channel);
    return;
  }
  s->refresh_inflight = true;
  post_to_proxy(*p, "sub_refresh", proxy::encode_sub_refresh_request(*p, proxy_caller(), channel),
                [this, channel, s, pp = p, expire](proxy::HttpResponse r) {
                  auto it = subs_.find(channel);
                  if (it == subs_.end() || it->second.get() != s || !s->refresh_inflight) {
                    return;  // unsubscribed meanwhile
                  }
                  s->refresh_inflight = false;
                  const int64_t now = clock().unix_seconds();
                  auto reply =
                      answer_of(r, pp, &proxy::decode_sub_refresh_reply, "sub refresh", this->id(), user_);
                  if (!reply) {
                    // Transport failure: keep the subscription, check again in 60 s.
                    s->expire_at = now + 60;
                    reschedule();
                    return;
                  }
                  // Transformed statuses and `{}` have no result: expired, as is a bad
                  // b64info (an internal error in the reference ends the subscription).
                  const auto& res = reply->result;
                  if (!res || res->expired || res->bad_info ||
                      (res->expire_at > 0 && res->expire_at < now)) {
                    expire(channel);
                    return;
                  }
                  if (!res->info.empty()) {
                    s->set_chan_info(res->info);
                  }
                  if (res->expire_at == 0) {
                    --expiring_subs_;  // stops expiring (reference behaviour)
                  }
                  s->expire_at = res->expire_at;
                  reschedule();
                });
}

}  // namespace gyre::node
