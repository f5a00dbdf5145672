// Proxy calls of a client session (server-api.md §4): the command waits for the backend's
// answer, then the answer is applied as Centrifugo applies it. Later commands of the
// connection stay queued behind the call (it counts as an in-flight command), so their order
// is kept.
#include <spdlog/spdlog.h>

#include "node/client.h"
#include "node/node.h"

namespace gyre::node {

using protocol::Command;

namespace {

// Why a proxy answer is a transport failure, for the log; empty when it is usable.
std::string transport_failure(const proxy::HttpResponse& r) {
  if (r.status == 0) {
    return r.body;
  }
  if (r.status != 200) {
    return "unexpected HTTP status " + std::to_string(r.status);
  }
  return {};
}

}  // namespace

proxy::Caller Client::proxy_caller() const {
  proxy::Caller c;
  c.client = id_;
  c.transport = transport_info_.name;
  c.protocol = &codec_ == &protocol::protobuf_codec() ? "protobuf" : "json";
  c.user = user_;
  c.meta = meta_;
  return c;
}

void Client::post_to_proxy(const proxy::ProxyConfig& p, std::string body,
                           std::function<void(proxy::HttpResponse)> done) {
  proxy::HttpRequest req;
  req.url = p.endpoint;
  req.headers = proxy::request_headers(p, request_.headers);
  req.body = std::move(body);
  req.timeout = p.timeout;
  node_.http_post(std::move(req),
                  [self = shared_from_this(), this, done = std::move(done)](
                      proxy::HttpResponse r) {
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
    spdlog::error("connect proxy: client {}: connect data is not JSON (enable "
                  "proxy_binary_encoding for binary payloads)",
                  id_);
    fail_connect(id, errors::internal());
    return;
  }
  ++inflight_;
  connect_inflight_ = true;
  auto held = std::make_shared<protocol::ConnectRequest>(std::move(cmd.connect));
  post_to_proxy(p, std::move(*body), [this, id, held](proxy::HttpResponse r) {
    --inflight_;
    connect_inflight_ = false;
    in_dispatch_ = true;
    if (std::string why = transport_failure(r); !why.empty()) {
      spdlog::error("connect proxy: client {}: {}", id_, why);
      fail_connect(id, errors::internal());
    } else if (auto reply = proxy::decode_connect_reply(r.body); !reply) {
      spdlog::error("connect proxy: client {}: undecodable response", id_);
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
  auto p = proxy::rpc_proxy(*cfg_);
  if (!p) {
    // Centrifugo registers no RPC handler without an RPC proxy (client-protocol.md §4.12).
    reply_error(cmd.id, errors::not_available());
    return;
  }
  const uint32_t id = cmd.id;
  auto body = proxy::encode_rpc_request(*p, proxy_caller(), cmd.rpc);
  if (!body) {
    spdlog::error("rpc proxy: client {}: rpc data is not JSON (enable proxy_binary_encoding "
                  "for binary payloads)",
                  id_);
    reply_error(id, errors::internal());
    return;
  }
  ++inflight_;
  post_to_proxy(*p, std::move(*body), [this, id](proxy::HttpResponse r) {
    if (std::string why = transport_failure(r); !why.empty()) {
      spdlog::error("rpc proxy: client {}: {}", id_, why);
      reply_error(id, errors::internal());
    } else if (auto reply = proxy::decode_rpc_reply(r.body); !reply) {
      spdlog::error("rpc proxy: client {}: undecodable response", id_);
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
      send(std::move(out));
    }
    finish_command();
  });
}

}  // namespace gyre::node
