#include "api/http_api.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/shard.h"
#include "engine/memory_engine.h"
#include "node/client.h"
#include "node/node.h"

namespace gyre::api {
namespace {

using namespace std::string_literals;

// Conformance config of server-api.md §7.
config::Config conformance_config() {
  config::Config cfg;
  cfg.name = "gyre-test";
  cfg.api_key = "k";
  cfg.token.hmac_secret_key = "secret";
  config::Namespace chat;
  chat.name = "chat";
  chat.options.presence = true;
  chat.options.history_size = 10;
  chat.options.history_ttl = std::chrono::seconds(300);
  cfg.namespaces.push_back(chat);
  return cfg;
}

// A transport that records what the client sends.
class FakeTransport final : public node::Transport {
 public:
  const protocol::Codec& codec() const override { return protocol::json_codec(); }
  node::TransportInfo info() const override { return {"websocket", false, false, true}; }
  void send(std::string message) override { sent.push_back(std::move(message)); }
  void send_shared(const std::shared_ptr<const hub::Fanout>&, hub::Fanout::Form) override {
    ++shared;
  }
  void close(const Disconnect& d) override { closed = d; }

  std::vector<std::string> sent;
  int shared = 0;
  std::optional<Disconnect> closed;
};

class CountingSubscriber final : public hub::Subscriber {
 public:
  void deliver(const std::shared_ptr<const hub::Fanout>&) override {}
};

// Example B of server-api.md §3.6: user "42", no expiry, HS256 with secret "secret".
constexpr std::string_view kUser42Token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9."
    "79CVgMIG_JB921dVUeJDWNJubJojFodH3-XtC_1C408";

class HttpApiTest : public ::testing::Test {
 protected:
  HttpApiTest() { Shard::set_current(&shards_.at(0)); }
  ~HttpApiTest() override {
    for (auto& c : clients_) {
      c.client->transport_closed();
    }
    drain();
    Shard::set_current(nullptr);
  }

  void start(config::Config cfg) {
    node_ = std::make_unique<node::Node>(shards_, engine_,
                                         std::make_shared<const config::Config>(std::move(cfg)));
    api_ = std::make_unique<HttpApi>(*node_);
  }
  void start() { start(conformance_config()); }

  // Runs the shard's queue until it is empty.
  void drain() {
    auto& io = shards_.at(0).io();
    io.restart();
    io.run();
  }

  Response call(Request req) {
    std::optional<Response> out;
    int calls = 0;
    api_->handle(std::move(req), [&](Response r) {
      ++calls;
      out = std::move(r);
    });
    drain();
    EXPECT_EQ(calls, 1);
    return out.value_or(Response{-1, "", ""});
  }

  Response post(std::string path, std::string body, std::string key = "k") {
    Request r;
    r.method = "POST";
    r.path = std::move(path);
    r.body = std::move(body);
    r.x_api_key = std::move(key);
    return call(std::move(r));
  }

  // Body of a 200 JSON response (fails the test otherwise).
  std::string ok(std::string path, std::string body) {
    Response r = post(std::move(path), std::move(body));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return r.body;
  }

  struct Conn {
    std::unique_ptr<FakeTransport> transport;
    std::shared_ptr<node::Client> client;
  };

  // A connected client of user 42.
  Conn& connect() {
    Conn c;
    c.transport = std::make_unique<FakeTransport>();
    c.client = std::make_shared<node::Client>(*node_, c.transport.get(), node::ConnectionRequest{});
    c.client->open();
    c.client->handle_frame(R"({"id":1,"connect":{"token":")"s + std::string(kUser42Token) +
                           R"("}})");
    drain();
    EXPECT_TRUE(c.client->authenticated());
    clients_.push_back(std::move(c));
    return clients_.back();
  }

  std::string epoch_of(const std::string& channel) {
    std::string body = ok("/api/history", R"({"channel":")" + channel + R"("})");
    auto pos = body.find(R"("epoch":")");
    return body.substr(pos + 9, 4);
  }

  ShardSet shards_{1};
  engine::MemoryEngine engine_{shards_};
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<HttpApi> api_;
  std::deque<Conn> clients_;  // stable references
};

const std::string kBadRequest = "Bad Request\n";
const std::string kTextPlain = "text/plain; charset=utf-8";

// ------------------------------------------------------------------ routes, admission

TEST_F(HttpApiTest, MatchesExactRoutesUnderPrefix) {
  start();
  EXPECT_TRUE(api_->matches("/api"));
  for (auto m : {"publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "refresh",
                 "presence", "presence_stats", "history", "history_remove", "channels", "info",
                 "rpc", "batch"}) {
    EXPECT_TRUE(api_->matches("/api/"s + m)) << m;
  }
  EXPECT_FALSE(api_->matches("/api/"));
  EXPECT_FALSE(api_->matches("/api/publish/"));
  EXPECT_FALSE(api_->matches("/api/connections"));
  EXPECT_FALSE(api_->matches("/apix"));
  EXPECT_FALSE(api_->matches("/"));
}

TEST_F(HttpApiTest, PrefixTrimsTrailingSlashAndRootCatchesAll) {
  auto cfg = conformance_config();
  cfg.api_handler_prefix = "/custom//";
  start(cfg);
  EXPECT_EQ(api_->prefix(), "/custom");
  EXPECT_TRUE(api_->matches("/custom"));
  EXPECT_TRUE(api_->matches("/custom/info"));
  EXPECT_FALSE(api_->matches("/api/info"));
}

TEST_F(HttpApiTest, RootPrefixServesMethodsAtTopAndLegacyElsewhere) {
  auto cfg = conformance_config();
  cfg.api_handler_prefix = "/";
  start(cfg);
  EXPECT_EQ(api_->prefix(), "/");
  EXPECT_TRUE(api_->matches("/publish"));
  EXPECT_TRUE(api_->matches("/anything"));
  EXPECT_EQ(ok("/presence_stats", R"({"channel":"chat:1"})"),
            R"({"result":{"num_clients":0,"num_users":0}})");
  // /other is the legacy endpoint: a command stream.
  EXPECT_EQ(ok("/other", R"({"method":"presence_stats","params":{"channel":"chat:1"}})"),
            R"({"result":{"num_clients":0,"num_users":0}})");
}

TEST_F(HttpApiTest, UnknownPathIs404) {
  start();
  Response r = post("/api/connections", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
}

TEST_F(HttpApiTest, Conformance01NonPostIs405BeforeAuth) {
  start();
  Request r;
  r.method = "GET";
  r.path = "/api/info";
  Response res = call(r);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.body, "");
}

TEST_F(HttpApiTest, Conformance02NoKeyIs401) {
  start();
  Response r = post("/api/info", "{}", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpApiTest, Conformance03AuthorizationApikeyGivesInfo) {
  start();
  Request r;
  r.method = "POST";
  r.path = "/api/info";
  r.body = "{}";
  r.authorization = "apikey k";
  Response res = call(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, R"({"result":{"nodes":[{"uid":")" + node_->id() +
                          R"(","name":"gyre-test","version":")" +
                          std::string(node::Node::kVersion) +
                          R"(","num_clients":0,"num_users":0,"num_channels":0,"num_subs":0}]}})");
}

TEST_F(HttpApiTest, Conformance04EmptyBodyIs400) {
  start();
  Response r = post("/api/info", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kBadRequest);
  EXPECT_EQ(r.content_type, kTextPlain);
}

TEST_F(HttpApiTest, AuthVariants) {
  start();
  auto with = [&](std::string x_api_key, std::string authorization, std::string query) {
    Request r;
    r.method = "POST";
    r.path = "/api/info";
    r.body = "{}";
    r.x_api_key = std::move(x_api_key);
    r.authorization = std::move(authorization);
    r.query = std::move(query);
    return call(r).status;
  };
  EXPECT_EQ(with("k", "", ""), 200);
  EXPECT_EQ(with("", "APIKEY k", ""), 200);
  EXPECT_EQ(with("", "  apikey \t k ", ""), 200);
  EXPECT_EQ(with("", "apikey k extra", ""), 401);
  EXPECT_EQ(with("", "Bearer k", ""), 401);
  EXPECT_EQ(with("", "apikey kk", ""), 401);
  EXPECT_EQ(with("wrong", "apikey k", ""), 401);  // a wrong X-API-Key decides
  EXPECT_EQ(with("wrong", "", "api_key=k"), 200);  // ... except for the query fallback
  EXPECT_EQ(with("", "", "x=1&api_key=k"), 200);
  EXPECT_EQ(with("", "", "api_key=x"), 401);
  EXPECT_EQ(with("", "", "api_key="), 401);
}

TEST_F(HttpApiTest, QueryKeyIsUrlDecoded) {
  auto cfg = conformance_config();
  cfg.api_key = "a b&c";
  start(cfg);
  Request r;
  r.method = "POST";
  r.path = "/api/info";
  r.body = "{}";
  r.query = "api_key=a+b%26c";
  EXPECT_EQ(call(r).status, 200);
}

TEST_F(HttpApiTest, EmptyApiKeyRejectsEverything) {
  auto cfg = conformance_config();
  cfg.api_key = "";
  start(cfg);
  EXPECT_EQ(post("/api/info", "{}", "").status, 401);
}

TEST_F(HttpApiTest, InsecureSkipsAuth) {
  auto cfg = conformance_config();
  cfg.api_key = "";
  cfg.api_insecure = true;
  start(cfg);
  EXPECT_EQ(post("/api/info", "{}", "").status, 200);
}

// ------------------------------------------------------------------ publish

TEST_F(HttpApiTest, Conformance05PublishWithoutHistory) {
  start();
  EXPECT_EQ(ok("/api/publish", R"({"channel":"news","data":{"a":1}})"), R"({"result":{}})");
}

TEST_F(HttpApiTest, Conformance06PublishWithHistory) {
  start();
  std::string body = ok("/api/publish", R"({"channel":"chat:1","data":{"a":1}})");
  ASSERT_EQ(body.size(), std::string(R"({"result":{"offset":1,"epoch":"xxxx"}})").size()) << body;
  EXPECT_TRUE(body.starts_with(R"({"result":{"offset":1,"epoch":")")) << body;
}

TEST_F(HttpApiTest, Conformance07And08UnknownNamespace) {
  start();
  EXPECT_EQ(ok("/api/publish", R"({"channel":"x:1","data":{}})"),
            R"({"error":{"code":102,"message":"unknown channel"}})");
  Request r;
  r.method = "POST";
  r.path = "/api/publish";
  r.body = R"({"channel":"x:1","data":{}})";
  r.x_api_key = "k";
  r.error_mode = "transport";
  Response res = call(r);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, R"({"code":102,"message":"unknown channel"})");
}

TEST_F(HttpApiTest, Conformance09And10MissingDataAndBadType) {
  start();
  EXPECT_EQ(ok("/api/publish", R"({"channel":"news"})"),
            R"({"error":{"code":107,"message":"bad request"}})");
  Response r = post("/api/publish", R"({"channel":1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kBadRequest);
}

TEST_F(HttpApiTest, PublishChecksInOrder) {
  start();
  const std::string bad = R"({"error":{"code":107,"message":"bad request"}})";
  EXPECT_EQ(ok("/api/publish", R"({"data":{}})"), bad);
  EXPECT_EQ(ok("/api/publish", R"({"channel":"x:1","b64data":"***"})"), bad);  // 107 before 102
  EXPECT_EQ(ok("/api/publish", R"({"channel":"x:1"})"), bad);
  EXPECT_EQ(ok("/api/publish", "null"), bad);
}

TEST_F(HttpApiTest, PublishNullDataIsAPayload) {
  start();
  EXPECT_EQ(ok("/api/publish", R"({"channel":"chat:1","data":null})").find("error"),
            std::string::npos);
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_NE(h.find(R"({"data":null,"offset":1})"), std::string::npos) << h;
}

TEST_F(HttpApiTest, PublishB64DataWinsOverData) {
  start();
  // {"b":2} in base64.
  ok("/api/publish", R"({"channel":"chat:1","data":{"a":1},"b64data":"eyJiIjoyfQ=="})");
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_NE(h.find(R"({"data":{"b":2},"offset":1})"), std::string::npos) << h;
}

TEST_F(HttpApiTest, BinaryPayloadInResultIs500) {
  start();
  ok("/api/publish", R"({"channel":"chat:1","b64data":"AAEC"})");
  Response r = post("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Internal Server Error\n");
  EXPECT_EQ(r.content_type, kTextPlain);
}

TEST_F(HttpApiTest, PublishSkipHistory) {
  start();
  EXPECT_EQ(ok("/api/publish", R"({"channel":"chat:1","data":1,"skip_history":true})"),
            R"({"result":{}})");
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_TRUE(h.starts_with(R"({"result":{"publications":[],"epoch":")")) << h;
  EXPECT_TRUE(h.ends_with(R"(","offset":0}})")) << h;
}

TEST_F(HttpApiTest, PublishIdempotencyKeyReturnsCachedResult) {
  start();
  std::string body = R"({"channel":"chat:1","data":1,"idempotency_key":"once"})";
  std::string first = ok("/api/publish", body);
  EXPECT_EQ(ok("/api/publish", body), first);
  std::string other =
      ok("/api/publish", R"({"channel":"chat:1","data":2,"idempotency_key":"twice"})");
  EXPECT_NE(other.find(R"("offset":2)"), std::string::npos) << other;
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_NE(h.find(R"([{"data":1,"offset":1},{"data":2,"offset":2}])"), std::string::npos) << h;
}

TEST_F(HttpApiTest, PublishTagsAreStoredAndSortedAndRawDataCompacted) {
  start();
  ok("/api/publish",
     R"({"channel":"chat:1","data":{ "t" : "<&>" },"tags":{"z":"1","a":"\"q\""}})");
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_NE(h.find(R"({"data":{"t":"\u003c\u0026\u003e"},"offset":1,)"
                   R"("tags":{"a":"\"q\"","z":"1"}})"),
            std::string::npos)
      << h;
}

// ------------------------------------------------------------------ broadcast

TEST_F(HttpApiTest, BroadcastKeepsChannelOrderWithItemErrors) {
  start();
  std::string body = ok("/api/broadcast", R"({"channels":["news","x:y","","chat:1"],"data":{}})");
  EXPECT_TRUE(body.starts_with(
      R"({"result":{"responses":[{"result":{}},{"error":{"code":102,"message":"unknown channel"}},)"
      R"({"error":{"code":107,"message":"bad request"}},{"result":{"offset":1,"epoch":")"))
      << body;
}

TEST_F(HttpApiTest, BroadcastTopLevelErrors) {
  start();
  const std::string bad = R"({"error":{"code":107,"message":"bad request"}})";
  EXPECT_EQ(ok("/api/broadcast", R"({"channels":[],"data":{}})"), bad);
  EXPECT_EQ(ok("/api/broadcast", R"({"channels":["news"]})"), bad);
  EXPECT_EQ(ok("/api/broadcast", R"({"channels":["news"],"b64data":"!"})"), bad);
  Request r;
  r.method = "POST";
  r.path = "/api/broadcast";
  r.body = R"({"channels":["x:1"],"data":{}})";
  r.x_api_key = "k";
  r.error_mode = "transport";
  Response res = call(r);  // item errors stay inside the result
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            R"({"result":{"responses":[{"error":{"code":102,"message":"unknown channel"}}]}})");
  r.body = R"({"channels":[],"data":{}})";
  res = call(r);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, R"({"code":107,"message":"bad request"})");
}

// ------------------------------------------------------------------ presence, history

TEST_F(HttpApiTest, Conformance11And12Presence) {
  start();
  EXPECT_EQ(ok("/api/presence", R"({"channel":"news"})"),
            R"({"error":{"code":108,"message":"not available"}})");
  EXPECT_EQ(ok("/api/presence_stats", R"({"channel":"chat:1"})"),
            R"({"result":{"num_clients":0,"num_users":0}})");
  EXPECT_EQ(ok("/api/presence", R"({"channel":"chat:1"})"), R"({"result":{"presence":{}}})");
  EXPECT_EQ(ok("/api/presence", R"({"channel":""})"),
            R"({"error":{"code":107,"message":"bad request"}})");
  EXPECT_EQ(ok("/api/presence_stats", R"({"channel":"x:1"})"),
            R"({"error":{"code":102,"message":"unknown channel"}})");
}

TEST_F(HttpApiTest, Conformance13And14History) {
  start();
  ok("/api/publish", R"({"channel":"chat:1","data":{"a":1}})");
  std::string epoch = epoch_of("chat:1");
  EXPECT_EQ(ok("/api/history", R"({"channel":"chat:1","limit":-1})"),
            R"({"result":{"publications":[{"data":{"a":1},"offset":1}],"epoch":")" + epoch +
                R"(","offset":1}})");
  EXPECT_EQ(ok("/api/history", R"({"channel":"chat:1","since":{"offset":0,"epoch":"zzzz"}})"),
            R"({"error":{"code":112,"message":"unrecoverable position"}})");
}

TEST_F(HttpApiTest, HistoryLimitSinceAndReverse) {
  start();
  for (int i = 1; i <= 5; ++i) {
    ok("/api/publish", R"({"channel":"chat:1","data":)" + std::to_string(i) + "}");
  }
  std::string epoch = epoch_of("chat:1");
  auto pubs = [&](std::string req) {
    std::string b = ok("/api/history", req);
    auto s = b.find('[');
    auto e = b.find(']');
    return b.substr(s, e - s + 1);
  };
  EXPECT_EQ(pubs(R"({"channel":"chat:1"})"), "[]");  // limit 0: position only
  EXPECT_EQ(pubs(R"({"channel":"chat:1","limit":2})"),
            R"([{"data":1,"offset":1},{"data":2,"offset":2}])");
  EXPECT_EQ(pubs(R"({"channel":"chat:1","limit":2,"reverse":true})"),
            R"([{"data":5,"offset":5},{"data":4,"offset":4}])");
  EXPECT_EQ(pubs(R"({"channel":"chat:1","limit":-1,"since":{"offset":3,"epoch":")" + epoch +
                 R"("}})"),
            R"([{"data":4,"offset":4},{"data":5,"offset":5}])");
  EXPECT_EQ(pubs(R"({"channel":"chat:1","limit":-1,"since":{"offset":5}})"), "[]");
  EXPECT_EQ(pubs(R"({"channel":"chat:1","limit":-1,"reverse":true,"since":{"offset":3}})"),
            R"([{"data":2,"offset":2},{"data":1,"offset":1}])");
  EXPECT_EQ(ok("/api/history", R"({"channel":"chat:1","reverse":true,"since":{"offset":0}})"),
            R"({"error":{"code":100,"message":"internal server error"}})");
  EXPECT_EQ(ok("/api/history", R"({"channel":"news"})"),
            R"({"error":{"code":108,"message":"not available"}})");
  EXPECT_EQ(ok("/api/history", R"({"channel":"x:1"})"),
            R"({"error":{"code":102,"message":"unknown channel"}})");
}

TEST_F(HttpApiTest, HistoryOfFreshChannelHasEpochAndZeroOffset) {
  start();
  std::string h = ok("/api/history", R"({"channel":"chat:new","limit":-1})");
  EXPECT_TRUE(h.starts_with(R"({"result":{"publications":[],"epoch":")")) << h;
  EXPECT_TRUE(h.ends_with(R"(","offset":0}})")) << h;
}

TEST_F(HttpApiTest, HistoryRemoveKeepsPosition) {
  start();
  ok("/api/publish", R"({"channel":"chat:1","data":1})");
  ok("/api/publish", R"({"channel":"chat:1","data":2})");
  std::string epoch = epoch_of("chat:1");
  EXPECT_EQ(ok("/api/history_remove", R"({"channel":"chat:1"})"), R"({"result":{}})");
  EXPECT_EQ(ok("/api/history", R"({"channel":"chat:1","limit":-1})"),
            R"({"result":{"publications":[],"epoch":")" + epoch + R"(","offset":2}})");
  EXPECT_EQ(ok("/api/history_remove", R"({"channel":"news"})"),
            R"({"error":{"code":108,"message":"not available"}})");
  EXPECT_EQ(ok("/api/history_remove", R"({})"),
            R"({"error":{"code":107,"message":"bad request"}})");
}

// ------------------------------------------------------------------ transport error mode

TEST_F(HttpApiTest, TransportModeFromConfigMapsStatuses) {
  auto cfg = conformance_config();
  cfg.api_error_mode = "transport";
  start(cfg);
  auto check = [&](std::string path, std::string body, int status, std::string expect) {
    Response r = post(path, body);
    EXPECT_EQ(r.status, status) << path << " " << body;
    EXPECT_EQ(r.body, expect);
  };
  check("/api/publish", R"({"channel":"news"})", 400, R"({"code":107,"message":"bad request"})");
  check("/api/presence", R"({"channel":"news"})", 400, R"({"code":108,"message":"not available"})");
  check("/api/rpc", R"({"method":"x"})", 404, R"({"code":104,"message":"not found"})");
  check("/api/history", R"({"channel":"chat:1","since":{"epoch":"zzzz"}})", 416,
        R"({"code":112,"message":"unrecoverable position"})");
  check("/api/history", R"({"channel":"chat:1","reverse":true,"since":{}})", 500,
        R"({"code":100,"message":"internal server error"})");
  check("/api/publish", R"({"channel":"news","data":1})", 200, R"({"result":{}})");
  // Batch is never in transport mode.
  check("/api/batch", R"({"commands":[{"rpc":{"method":"x"}}]})", 200,
        R"({"replies":[{"error":{"code":104,"message":"not found"}}]})");
}

TEST_F(HttpApiTest, TransportModeHeaderMustBeExact) {
  start();
  Request r;
  r.method = "POST";
  r.path = "/api/rpc";
  r.body = R"({"method":"x"})";
  r.x_api_key = "k";
  r.error_mode = "Transport";
  Response res = call(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"error":{"code":104,"message":"not found"}})");
}

// ------------------------------------------------------------------ rpc, channels, info

TEST_F(HttpApiTest, Conformance18Rpc) {
  start();
  EXPECT_EQ(ok("/api/rpc", R"({"method":"x"})"),
            R"({"error":{"code":104,"message":"not found"}})");
  EXPECT_EQ(ok("/api/rpc", R"({"params":{}})"),
            R"({"error":{"code":107,"message":"bad request"}})");
}

TEST_F(HttpApiTest, Conformance19ChannelsEmpty) {
  start();
  EXPECT_EQ(ok("/api/channels", "{}"), R"({"result":{"channels":{}}})");
}

TEST_F(HttpApiTest, ChannelsListsSubscribedChannelsFilteredByPattern) {
  start();
  CountingSubscriber a, b, c;
  auto& hub = node_->shard_state(0).hub;
  hub.add("chat:1", &a);
  hub.add("chat:1", &b);
  hub.add("news", &c);
  hub.add("chat:\"2\"", &c);
  EXPECT_EQ(ok("/api/channels", "{}"),
            R"({"result":{"channels":{"chat:\"2\"":{"num_clients":1},"chat:1":{"num_clients":2},)"
            R"("news":{"num_clients":1}}}})");
  EXPECT_EQ(ok("/api/channels", R"({"pattern":"chat:?"})"),
            R"({"result":{"channels":{"chat:1":{"num_clients":2}}}})");
  EXPECT_EQ(ok("/api/channels", R"({"pattern":"{news,nope}"})"),
            R"({"result":{"channels":{"news":{"num_clients":1}}}})");
  EXPECT_EQ(ok("/api/channels", R"({"pattern":"["})"),
            R"({"error":{"code":100,"message":"internal server error"}})");
  std::string info = ok("/api/info", "{}");
  EXPECT_NE(info.find(R"("num_channels":3,)"), std::string::npos) << info;
  EXPECT_NE(info.find(R"("num_subs":4})"), std::string::npos) << info;
  hub.remove("chat:1", &a);
  hub.remove("chat:1", &b);
  hub.remove("news", &c);
  hub.remove("chat:\"2\"", &c);
}

// ------------------------------------------------------------------ batch

TEST_F(HttpApiTest, Conformance17Batch) {
  start();
  EXPECT_EQ(ok("/api/batch",
               R"({"commands":[{"publish":{"channel":"news","data":{}}},)"
               R"({"presence":{"channel":"x:y"}}]})"),
            R"({"replies":[{"publish":{}},{"error":{"code":102,"message":"unknown channel"}}]})");
}

TEST_F(HttpApiTest, BatchRepliesCarryMethodKeys) {
  start();
  EXPECT_EQ(ok("/api/batch", R"({"commands":[]})"), R"({"replies":[]})");
  EXPECT_EQ(ok("/api/batch", R"({})"), R"({"replies":[]})");
  EXPECT_EQ(ok("/api/batch",
               R"({"commands":[{"presence_stats":{"channel":"chat:1"}},{"connections":{}},)"
               R"({"method":"publish","params":{"channel":"news","data":1}},)"
               R"({"channels":{}},{"unsubscribe":{"user":"1","channel":""}}]})"),
            R"({"replies":[{"presence_stats":{"num_clients":0,"num_users":0}},)"
            R"({"error":{"code":104,"message":"not found"}},)"
            R"({"error":{"code":104,"message":"not found"}},)"
            R"({"channels":{"channels":{}}},{"unsubscribe":{}}]})");
  Response bad = post("/api/batch", R"({"commands":[{"publish":{"channel":1}}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(post("/api/batch", "").status, 400);
}

TEST_F(HttpApiTest, BatchSequentialAndParallelKeepOrder) {
  start();
  for (const char* parallel : {"false", "true"}) {
    std::string body = R"({"parallel":)"s + parallel + R"(,"commands":[)";
    for (int i = 0; i < 5; ++i) {
      body += std::string(i ? "," : "") + R"({"publish":{"channel":"chat:)" + parallel +
              R"(","data":)" + std::to_string(i) + "}}";
    }
    body += "]}";
    std::string out = ok("/api/batch", body);
    EXPECT_TRUE(out.starts_with(R"({"replies":[{"publish":{"offset":1,)")) << out;
    std::string h = ok("/api/history", R"({"channel":"chat:)"s + parallel + R"(","limit":-1})");
    EXPECT_NE(h.find(R"({"data":0,"offset":1})"), std::string::npos) << h;
    EXPECT_NE(h.find(R"({"data":4,"offset":5})"), std::string::npos) << h;
  }
}

// ------------------------------------------------------------------ legacy endpoint

TEST_F(HttpApiTest, Conformance15LegacyStream) {
  start();
  Response r = post("/api",
                    "{\"method\":\"publish\",\"params\":{\"channel\":\"news\",\"data\":1}}\n"
                    "{\"id\":2,\"method\":\"presence\",\"params\":{\"channel\":\"news\"}}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"result\":{}}\n{\"id\":2,\"error\":{\"code\":108,\"message\":\"not available\"}}");
}

TEST_F(HttpApiTest, Conformance16LegacyUnknownMethodNameIs400) {
  start();
  Response r = post("/api", R"({"method":"nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kBadRequest);
  EXPECT_EQ(post("/api", R"({"method":"0"})").status, 400);
}

TEST_F(HttpApiTest, LegacyMethodForms) {
  start();
  // Absent method = publish; numbers; case-insensitive names; unhandled values; params.
  std::string body =
      R"({"id":1,"params":{"channel":"chat:1","data":1}})"
      R"( {"id":2,"method":5,"params":{"channel":"chat:1"}})"
      "\t\r\n"
      R"({"id":3,"method":"PRESENCE_stats","params":{"channel":"chat:1"}})"
      R"({"id":4,"method":14,"params":{}})"
      R"({"id":5,"method":13})"
      R"({"id":6,"method":99})"
      R"({"id":7,"method":"connections","params":{}})"
      R"({"id":8,"method":"history"})"
      R"({"id":9,"method":"history","params":{"channel":1}})"
      R"({"id":10,"method":"history","params":"x"})"
      R"({"id":11,"method":"rpc","params":{"method":"m"}})"
      "\n";
  Response r = post("/api", body);
  EXPECT_EQ(r.status, 200);
  std::string nf = R"("error":{"code":104,"message":"not found"}})";
  std::string br = R"("error":{"code":107,"message":"bad request"}})";
  EXPECT_TRUE(r.body.starts_with(R"({"id":1,"result":{"offset":1,"epoch":")")) << r.body;
  auto tail = r.body.substr(r.body.find('\n') + 1);
  EXPECT_EQ(tail, R"({"id":2,"result":{"num_clients":0,"num_users":0}})"
                  "\n"
                  R"({"id":3,"result":{"num_clients":0,"num_users":0}})"
                  "\n"
                  R"({"id":4,)" + nf + "\n" + R"({"id":5,)" + nf + "\n" + R"({"id":6,)" + nf +
                      "\n" + R"({"id":7,)" + nf + "\n" + R"({"id":8,)" + br + "\n" +
                      R"({"id":9,)" + br + "\n" + R"({"id":10,)" + br + "\n" + R"({"id":11,)" +
                      nf);
}

TEST_F(HttpApiTest, LegacyInfoIgnoresParams) {
  start();
  std::string body = ok("/api", R"({"method":"info"})");
  EXPECT_TRUE(body.starts_with(R"({"result":{"nodes":[{"uid":")")) << body;
  EXPECT_EQ(body.find('\n'), std::string::npos);
}

TEST_F(HttpApiTest, LegacyBodyEdgeCases) {
  start();
  Response ws = post("/api", " \n\t ");
  EXPECT_EQ(ws.status, 200);
  EXPECT_EQ(ws.body, "");
  Response empty = post("/api", "");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body, kBadRequest);
  EXPECT_EQ(ok("/api", "null"), R"({"error":{"code":107,"message":"bad request"}})");
  EXPECT_EQ(post("/api", "[]").status, 400);
  EXPECT_EQ(post("/api", R"({"method":4)").status, 400);
}

TEST_F(HttpApiTest, LegacyFailureKeepsEarlierEffects) {
  start();
  Response r = post("/api",
                    R"({"method":"publish","params":{"channel":"chat:1","data":1}})"
                    "\n"
                    R"({"method":"publish","params":{"channel":"chat:1","data":2}} {oops})");
  EXPECT_EQ(r.status, 400);
  std::string h = ok("/api/history", R"({"channel":"chat:1","limit":-1})");
  EXPECT_NE(h.find(R"([{"data":1,"offset":1},{"data":2,"offset":2}])"), std::string::npos) << h;
}

TEST_F(HttpApiTest, LegacyDuringShutdownIs503) {
  start();
  bool stopped = false;
  node_->shutdown([&] { stopped = true; });
  drain();
  ASSERT_TRUE(stopped);
  Response r = post("/api", R"({"method":"info"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "");
}

// ------------------------------------------------------------------ live connections

TEST_F(HttpApiTest, SubscribeUnsubscribeLiveConnection) {
  start();
  Conn& c = connect();
  const std::string id(c.client->id());
  EXPECT_EQ(ok("/api/subscribe",
               R"({"user":"42","channel":"chat:1","info":{"role":"x"},"data":{"hello":1}})"),
            R"({"result":{}})");
  drain();
  EXPECT_EQ(ok("/api/presence", R"({"channel":"chat:1"})"),
            R"({"result":{"presence":{")" + id + R"(":{"user":"42","client":")" + id +
                R"(","chan_info":{"role":"x"}}}}})");
  bool pushed = false;
  for (const auto& m : c.transport->sent) {
    pushed = pushed || (m.find(R"("subscribe":)") != std::string::npos &&
                        m.find(R"({"hello":1})") != std::string::npos);
  }
  EXPECT_TRUE(pushed);
  std::string info = ok("/api/info", "{}");
  EXPECT_NE(info.find(R"("num_clients":1,"num_users":1,"num_channels":1,)"), std::string::npos)
      << info;
  EXPECT_EQ(ok("/api/channels", R"({"pattern":"chat:*"})"),
            R"({"result":{"channels":{"chat:1":{"num_clients":1}}}})");

  // Filters that match nothing.
  ok("/api/unsubscribe", R"({"user":"43","channel":"chat:1"})");
  ok("/api/unsubscribe", R"({"user":"42","channel":"chat:1","client":"other"})");
  ok("/api/unsubscribe", R"({"user":"42","channel":""})");
  drain();
  EXPECT_EQ(ok("/api/presence_stats", R"({"channel":"chat:1"})"),
            R"({"result":{"num_clients":1,"num_users":1}})");

  EXPECT_EQ(ok("/api/unsubscribe", R"({"user":"42","channel":"chat:1","client":")" + id + R"("})"),
            R"({"result":{}})");
  drain();
  EXPECT_EQ(ok("/api/presence", R"({"channel":"chat:1"})"), R"({"result":{"presence":{}}})");
  EXPECT_EQ(ok("/api/unsubscribe", R"({"user":"42","channel":"x:1"})"),
            R"({"error":{"code":102,"message":"unknown channel"}})");
  EXPECT_EQ(ok("/api/subscribe", R"({"user":"42","channel":"x:1"})"),
            R"({"error":{"code":102,"message":"unknown channel"}})");
  EXPECT_EQ(ok("/api/subscribe", R"({"user":"42"})"),
            R"({"error":{"code":107,"message":"bad request"}})");
}

TEST_F(HttpApiTest, SubscribeOverrideAndB64Info) {
  start();
  Conn& c = connect();
  // presence disabled by the override: the client does not appear in presence.
  ok("/api/subscribe",
     R"({"user":"42","channel":"chat:a","override":{"presence":{"value":false}}})");
  // b64info {"k":1}
  ok("/api/subscribe", R"({"user":"42","channel":"chat:b","b64info":"eyJrIjoxfQ=="})");
  drain();
  EXPECT_EQ(ok("/api/presence", R"({"channel":"chat:a"})"), R"({"result":{"presence":{}}})");
  std::string p = ok("/api/presence", R"({"channel":"chat:b"})");
  EXPECT_NE(p.find(R"("chan_info":{"k":1})"), std::string::npos) << p;
  EXPECT_EQ(ok("/api/subscribe", R"({"user":"42","channel":"chat:c","b64info":"@"})"),
            R"({"error":{"code":107,"message":"bad request"}})");
  (void)c;
}

TEST_F(HttpApiTest, DisconnectDefaultCodeAndWhitelist) {
  start();
  Conn& a = connect();
  Conn& b = connect();
  EXPECT_EQ(ok("/api/disconnect",
               R"({"user":"42","whitelist":[")" + std::string(a.client->id()) + R"("]})"),
            R"({"result":{}})");
  EXPECT_FALSE(a.transport->closed.has_value());
  ASSERT_TRUE(b.transport->closed.has_value());
  EXPECT_EQ(*b.transport->closed, (Disconnect{3503, "force disconnect"}));
  ok("/api/disconnect", R"({"user":"42","disconnect":{"code":4001,"reason":"custom"}})");
  ASSERT_TRUE(a.transport->closed.has_value());
  EXPECT_EQ(*a.transport->closed, (Disconnect{4001, "custom"}));
  EXPECT_EQ(node_->num_clients(), 0u);
}

TEST_F(HttpApiTest, RefreshExpiredClosesWith3005) {
  start();
  Conn& a = connect();
  Conn& b = connect();
  ok("/api/refresh",
     R"({"user":"42","client":")" + std::string(b.client->id()) + R"(","expired":true})");
  EXPECT_FALSE(a.transport->closed.has_value());
  ASSERT_TRUE(b.transport->closed.has_value());
  EXPECT_EQ(b.transport->closed->code, 3005u);
  size_t before = a.transport->sent.size();
  EXPECT_EQ(ok("/api/refresh", R"({"user":"42","expire_at":4102444800})"), R"({"result":{}})");
  ASSERT_GT(a.transport->sent.size(), before);
  EXPECT_NE(a.transport->sent.back().find("refresh"), std::string::npos)
      << a.transport->sent.back();
}


// gomaxprocs 1 (this fixture has one shard): an API publish runs the stream append, the
// fan-out and the answer inline — nothing is posted to the shard's own queue.
TEST_F(HttpApiTest, PublishWithOneShardAnswersInlineAndPostsNothing) {
  start();
  Request r;
  r.method = "POST";
  r.path = "/api/publish";
  r.body = R"({"channel":"chat:inline","data":{"n":1}})";
  r.x_api_key = "k";
  std::optional<Response> out;
  api_->handle(std::move(r), [&](Response resp) { out = std::move(resp); });
  ASSERT_TRUE(out.has_value()) << "answered before handle() returned";
  EXPECT_EQ(out->status, 200);
  EXPECT_TRUE(out->body.starts_with(R"({"result":{"offset":1,"epoch":")")) << out->body;
  EXPECT_EQ(shards_.at(0).io().poll(), 0u);
}

// A sequential batch whose commands all complete inline loops instead of recursing once per
// command: 20,000 publishes answer in one call, in order, without posting.
TEST_F(HttpApiTest, SequentialBatchOfInlineCommandsLoopsWithoutPosting) {
  start();
  std::string body = R"({"commands":[)";
  constexpr int kCommands = 20000;
  for (int i = 0; i < kCommands; ++i) {
    body += i == 0 ? "" : ",";
    body += R"({"publish":{"channel":"chat:batch","data":{}}})";
  }
  body += "]}";
  Request r;
  r.method = "POST";
  r.path = "/api/batch";
  r.body = std::move(body);
  r.x_api_key = "k";
  std::optional<Response> out;
  api_->handle(std::move(r), [&](Response resp) { out = std::move(resp); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(shards_.at(0).io().poll(), 0u);
  // Offsets 1..kCommands in order (history size 10 keeps the top offset counting).
  EXPECT_NE(out->body.find(R"({"publish":{"offset":1,)"), std::string::npos);
  EXPECT_NE(out->body.find(R"({"publish":{"offset":20000,)"), std::string::npos);
  EXPECT_LT(out->body.find(R"("offset":19999,)"), out->body.find(R"("offset":20000,)"));
}

}  // namespace
}  // namespace gyre::api
