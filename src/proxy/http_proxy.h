#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwt.h"
#include "config/config.h"
#include "core/errors.h"
#include "protocol/types.h"

// The HTTP proxy of Centrifugo v5.4 (server-api.md §4): request bodies sent to the
// application backend and the decoding of its answers, as pure functions, plus the HttpPost
// hook through which the node reaches the shard's HTTP client (server/http_client.h owns the
// sockets; this module holds no I/O). Everything here is a stateless function or an
// immutable value type: thread-safe.
namespace gyre::proxy {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One proxy request. `timeout` covers the whole exchange (connect, send, read).
struct HttpRequest {
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{1000};
};

// status 0: the request failed (refused, timeout, oversized or malformed response); `body`
// then holds the reason, for logs only.
struct HttpResponse {
  int status = 0;
  std::string body;
};

// Sends a POST on the calling shard; `done` runs exactly once, later, on the same shard.
using HttpPost = std::function<void(HttpRequest, std::function<void(HttpResponse)>)>;

// One configured proxy (server-api.md §4.1): resolved at config load, immutable, owned by
// the Config it came from (pointers below live as long as that Config).
using ProxyConfig = config::ProxyDefinition;

// The proxy of each event, default or granular mode (server-api.md §4.1); null when there is
// none. A namespace that asks for a proxy the node lacks answers 108, as Centrifugo
// (client_policy).
const ProxyConfig* connect_proxy(const config::Config& cfg);
const ProxyConfig* refresh_proxy(const config::Config& cfg);
// Subscribe / publish / sub refresh proxies of a namespace. Default mode: the
// proxy_<type>_endpoint proxy when the namespace has proxy_<type> (or a <type>_proxy_name,
// which Centrifugo's default mode treats alike). Granular mode: the proxy named by
// <type>_proxy_name.
const ProxyConfig* subscribe_proxy(const config::Config& cfg, const config::ChannelOptions& o);
const ProxyConfig* publish_proxy(const config::Config& cfg, const config::ChannelOptions& o);
const ProxyConfig* sub_refresh_proxy(const config::Config& cfg,
                                     const config::ChannelOptions& o);
// The proxy refreshing an expired server-side subscription (connect proxy `subs` or API
// subscribe with expire_at). Centrifugo v5.4.9 installs one sub refresh handler for every
// subscription without client-side refresh: in default mode it calls
// proxy_sub_refresh_endpoint whatever the namespace's proxy_sub_refresh, in granular mode the
// namespace's sub_refresh_proxy_name. v6 shape: the namespace's sub_refresh proxy when
// enabled. nullptr: none, the subscription expires.
const ProxyConfig* server_side_sub_refresh_proxy(const config::Config& cfg,
                                                 const config::ChannelOptions& o);
// Whether the namespace's subscriptions are refreshed server-side (its sub refresh is a
// proxy: proxy_sub_refresh or sub_refresh_proxy_name), so the client is not given a ttl.
bool server_side_sub_refresh(const config::ChannelOptions& o);
// The RPC proxy of `method`, or the error the client gets: 108 without any RPC proxy (no RPC
// handler), in granular mode 104 for an unknown rpc namespace and 108 for a method whose
// namespace has no rpc_proxy_name (server-api.md §4.1.2, §4.9).
std::expected<const ProxyConfig*, Error> rpc_proxy(const config::Config& cfg,
                                                   std::string_view method);

// A non-200 status matched by the proxy's status transforms (server-api.md §4.10): the
// answer as if the body were {"error": ...} or {"disconnect": ...}; nullopt when none
// matches (a transport failure).
struct StatusTransformed {
  std::optional<Error> error;
  std::optional<Disconnect> disconnect;
};
std::optional<StatusTransformed> transform_status(const ProxyConfig& p, int status);

// The request headers of a proxy call (server-api.md §4.2): the static headers, overridden by
// the forwarded client headers named in `p.http_headers`, then Content-Type:
// application/json.
Headers request_headers(const ProxyConfig& p, const Headers& client_headers);

// Who calls: the fields common to every request (server-api.md §4.3).
struct Caller {
  std::string_view client;
  std::string_view transport;
  std::string_view protocol;  // "json" or "protobuf"
  std::string_view user;
  std::string_view meta;  // raw JSON, empty = none
};

// Request bodies. nullopt when a payload must be embedded as JSON and is not valid JSON (a
// Protobuf client's binary data without binary encoding): a transport failure.
std::optional<std::string> encode_connect_request(const ProxyConfig& p, const Caller& c,
                                                  const protocol::ConnectRequest& req);
std::optional<std::string> encode_rpc_request(const ProxyConfig& p, const Caller& c,
                                              const protocol::RpcRequest& req);
// Refresh: the common fields, user and meta only.
std::string encode_refresh_request(const ProxyConfig& p, const Caller& c);
// Sub refresh (server-api.md §4.8): the common fields, user, channel and meta.
std::string encode_sub_refresh_request(const ProxyConfig& p, const Caller& c,
                                       std::string_view channel);
std::optional<std::string> encode_subscribe_request(const ProxyConfig& p, const Caller& c,
                                                    std::string_view channel,
                                                    std::string_view data);
std::optional<std::string> encode_publish_request(const ProxyConfig& p, const Caller& c,
                                                  std::string_view channel,
                                                  std::string_view data);

// A decoded answer. Evaluation order is disconnect, then error, then result.
template <class R>
struct Reply {
  std::optional<Disconnect> disconnect;
  std::optional<Error> error;
  std::optional<R> result;
};

// ConnectResult (server-api.md §4.4) as connection claims: user, expire_at, info (b64info
// decoded), meta, and the server-side subscriptions of `channels` then `subs` (a `subs`
// entry replaces the same channel from `channels`). `data` goes into the connect reply.
struct ConnectResult {
  auth::ConnectClaims claims;
  std::string data;
};

struct RpcResult {
  std::string data;
};

// RefreshResult (server-api.md §4.5).
struct RefreshResult {
  bool expired = false;
  int64_t expire_at = 0;
  std::string info;                 // b64info decoded when non-empty; "" = keep
  std::optional<std::string> meta;  // replaces the connection meta when present
  bool bad_info = false;            // b64info did not decode: the connection closes (3004)
};

// SubRefreshResult (server-api.md §4.8).
struct SubRefreshResult {
  bool expired = false;
  int64_t expire_at = 0;
  std::string info;       // b64info decoded when non-empty; "" = keep
  bool bad_info = false;  // b64info did not decode: the subscription expires
};

// SubscribeResult (server-api.md §4.6): b64info/b64data win when non-empty.
struct SubscribeResult {
  int64_t expire_at = 0;
  std::string info;
  std::string data;
  auth::SubscribeOptionOverride override;
};

// PublishResult (server-api.md §4.7): `data` present (even null) wins over b64data.
struct PublishResult {
  std::optional<std::string> data;  // replacement payload; nullopt = publish the original
  bool data_is_binary = false;      // the replacement came from b64data
  bool skip_history = false;
};

// nullopt: the body is not a JSON object of the expected shape (a transport failure). A bad
// b64info/b64data in a result becomes error 100 (as Centrifugo).
std::optional<Reply<ConnectResult>> decode_connect_reply(std::string_view body);
std::optional<Reply<RpcResult>> decode_rpc_reply(std::string_view body);
// Only `result` matters for refresh: `error` and `disconnect` are ignored (server-api.md §4.5).
std::optional<Reply<RefreshResult>> decode_refresh_reply(std::string_view body);
// As refresh: only `result` matters (server-api.md §4.8).
std::optional<Reply<SubRefreshResult>> decode_sub_refresh_reply(std::string_view body);
std::optional<Reply<SubscribeResult>> decode_subscribe_reply(std::string_view body);
std::optional<Reply<PublishResult>> decode_publish_reply(std::string_view body);

}  // namespace gyre::proxy
