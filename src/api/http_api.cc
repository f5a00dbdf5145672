#include "api/http_api.h"


#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "api/requests.h"
#include "core/ascii.h"
#include "core/constant_time.h"
#include "core/log.h"
#include "core/shard.h"
#include "node/node.h"
#include "protocol/json_writer.h"
#include "transport/http_util.h"

namespace gyre::api {
namespace {

using protocol::JsonWriter;
using Done = std::function<void(Response)>;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kText = "text/plain; charset=utf-8";

Response empty_response(int status) { return {status, "", ""}; }
Response bad_request_text() { return {400, std::string(kText), "Bad Request\n"}; }
Response internal_error_text() { return {500, std::string(kText), "Internal Server Error\n"}; }
Response json_response(int status, std::string body) {
  return {status, std::string(kJson), std::move(body)};
}

// Runs `fn` later on the calling shard (inline outside shard threads).
template <typename F>
void later(F&& fn) {
  if (Shard* s = Shard::current()) {
    s->post(std::forward<F>(fn));
  } else {
    fn();
  }
}

void reply_later(const Done& done, Response r) {
  later([done, r = std::move(r)]() mutable { done(std::move(r)); });
}

// HTTP status of an API error in transport error mode (server-api.md §1.5).
int transport_status(uint32_t code) {
  switch (code) {
    case 102:
    case 104:
      return 404;
    case 107:
    case 108:
      return 400;
    case 112:
      return 416;
    case 113:
      return 409;
    default:
      return 500;
  }
}

void write_error(JsonWriter& w, const Error& e) {
  w.begin_object();
  w.field_uint("code", e.code);
  w.field("message", e.message);
  w.end_object();
}

std::string error_object(const Error& e) {
  std::string out;
  JsonWriter w(out);
  write_error(w, e);
  return out;
}

// ------------------------------------------------------------------ legacy stream

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// End offset of the JSON value that starts at s[pos] (not whitespace), or npos when the input
// ends inside it. Only delimits the value; validation is the decoder's job.
size_t scan_value(std::string_view s, size_t pos) {
  auto skip_string = [&s](size_t i) -> size_t {  // i: after the opening quote
    for (; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        return i + 1;
      }
    }
    return std::string_view::npos;
  };
  char c = s[pos];
  if (c == '"') {
    return skip_string(pos + 1);
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    for (size_t i = pos; i < s.size();) {
      char x = s[i];
      if (x == '"') {
        i = skip_string(i + 1);
        if (i == std::string_view::npos) {
          return i;
        }
        continue;
      }
      if (x == '{' || x == '[') {
        ++depth;
      } else if (x == '}' || x == ']') {
        if (--depth == 0) {
          return i + 1;
        }
      }
      ++i;
    }
    return std::string_view::npos;
  }
  size_t i = pos + 1;
  if (c == '}' || c == ']' || c == ',' || c == ':') {
    return i;
  }
  while (i < s.size() && !is_json_space(s[i]) && std::string_view("{}[],:\"").find(s[i]) ==
                                                      std::string_view::npos) {
    ++i;
  }
  return i;
}

struct LegacyState {
  const Executor* executor;
  node::Node* node;
  std::string body;
  size_t pos = 0;
  std::string out;  // replies joined by '\n'
  Done done;
  // Trampoline: a command that completes inline asks for the next step while the current one
  // is still on the stack; the loop in legacy_step takes it instead of recursing.
  bool stepping = false;
  bool step_again = false;
};

void legacy_step(std::shared_ptr<LegacyState> st);

void legacy_reply(std::shared_ptr<LegacyState> st, uint32_t id, Outcome o) {
  if (!o && api_errors::is_unencodable(o.error())) {
    return st->done(internal_error_text());
  }
  if (!st->out.empty()) {
    st->out += '\n';
  }
  JsonWriter w(st->out);
  w.begin_object();
  if (id != 0) {
    w.field_uint("id", id);
  }
  if (!o) {
    w.key("error");
    write_error(w, o.error());
  } else {
    w.field_raw("result", *o);
  }
  w.end_object();
  legacy_step(std::move(st));
}

void legacy_step_once(const std::shared_ptr<LegacyState>& st);

// Decodes and runs the next command; commands run one at a time (server-api.md §1.4).
// Executor completions may be inline: those continue the loop here, one frame deep.
void legacy_step(std::shared_ptr<LegacyState> st) {
  if (st->stepping) {
    st->step_again = true;
    return;
  }
  st->stepping = true;
  do {
    st->step_again = false;
    legacy_step_once(st);
  } while (st->step_again);
  st->stepping = false;
}

void legacy_step_once(const std::shared_ptr<LegacyState>& st) {
  if (st->node->shutting_down()) {
    return st->done(empty_response(503));
  }
  std::string_view body = st->body;
  size_t start = st->pos;
  while (start < body.size() && is_json_space(body[start])) {
    ++start;
  }
  if (start == body.size()) {
    return st->done(json_response(200, std::move(st->out)));
  }
  size_t end = scan_value(body, start);
  if (end == std::string_view::npos) {
    return st->done(bad_request_text());
  }
  st->pos = end;
  auto cmd = decode_legacy_command(body.substr(start, end - start));
  if (!cmd) {
    // Earlier commands have run; their effects stay (reference behaviour).
    return st->done(bad_request_text());
  }
  uint32_t id = cmd->id;
  auto reply_now = [st, id](Error e) {
    later([st, id, e = std::move(e)]() mutable {
      legacy_reply(st, id, std::unexpected(std::move(e)));
    });
  };
  auto method = method_from_enum(cmd->method);
  if (!method) {
    return reply_now(api_errors::not_found());
  }
  std::optional<AnyRequest> req;
  if (*method == Method::kInfo) {
    req = InfoRequest{};  // info ignores params
  } else if (!cmd->params.empty()) {
    req = decode_request(*method, cmd->params);
  }
  if (!req) {
    return reply_now(api_errors::bad_request());
  }
  st->executor->execute(*method, std::move(*req),
                        [st, id](Outcome o) { legacy_reply(st, id, std::move(o)); });
}

// ------------------------------------------------------------------ batch

struct BatchState {
  std::vector<BatchCommand> commands;
  std::vector<Outcome> outcomes;
  size_t left = 0;
  Done done;
  // Sequential batches: the next command to run, and the same trampoline as the legacy stream.
  size_t next = 0;
  bool running = false;
  bool run_again = false;
};

void batch_finish(const std::shared_ptr<BatchState>& st) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("replies");
  w.begin_array();
  for (size_t i = 0; i < st->commands.size(); ++i) {
    const Outcome& o = st->outcomes[i];
    if (!o && api_errors::is_unencodable(o.error())) {
      return st->done(internal_error_text());
    }
    w.begin_object();
    if (!o) {
      w.key("error");
      write_error(w, o.error());
    } else {
      w.field_raw(method_name(*st->commands[i].method), *o);
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  st->done(json_response(200, std::move(out)));
}

void batch_run(const Executor& ex, const std::shared_ptr<BatchState>& st, size_t i,
               OutcomeCallback cb) {
  BatchCommand& cmd = st->commands[i];
  if (!cmd.method) {
    return later([cb = std::move(cb)] { cb(std::unexpected(api_errors::not_found())); });
  }
  ex.execute(*cmd.method, std::move(cmd.request), std::move(cb));
}

// Runs st->commands[st->next..] one after another. A command that completes inline continues
// the loop instead of recursing (a batch of many publishes on one shard completes entirely
// inline, without posting).
void batch_sequential(const Executor* ex, const std::shared_ptr<BatchState>& st) {
  if (st->running) {
    st->run_again = true;
    return;
  }
  st->running = true;
  do {
    st->run_again = false;
    size_t i = st->next;
    if (i == st->commands.size()) {
      st->running = false;
      return batch_finish(st);
    }
    batch_run(*ex, st, i, [ex, st, i](Outcome o) {
      st->outcomes[i] = std::move(o);
      st->next = i + 1;
      batch_sequential(ex, st);
    });
  } while (st->run_again);
  st->running = false;
}

}  // namespace

HttpApi::HttpApi(node::Node& node) : node_(node), executor_(node) {
  prefix_ = node.config()->api_handler_prefix;
  while (!prefix_.empty() && prefix_.back() == '/') {
    prefix_.pop_back();
  }
  if (prefix_.empty()) {
    prefix_ = "/";
  }
}

std::optional<std::string_view> HttpApi::route(std::string_view path) const {
  bool root = prefix_ == "/";
  std::string_view base = root ? std::string_view{} : std::string_view(prefix_);
  if (!root && path == base) {
    return std::string_view{};
  }
  if (path.size() > base.size() + 1 && path.starts_with(base) && path[base.size()] == '/') {
    std::string_view name = path.substr(base.size() + 1);
    if (name == "batch" || method_from_name(name)) {
      return name;
    }
  }
  if (root) {
    return std::string_view{};  // the legacy endpoint catches every other path
  }
  return std::nullopt;
}

bool HttpApi::matches(const std::string& path) const { return route(path).has_value(); }

bool HttpApi::authorized(const Request& req) const {
  const auto& cfg = *node_.config();
  if (cfg.api_insecure) {
    return true;
  }
  if (cfg.api_key.empty()) {
    // Centrifugo's auth middleware line.
    logging::error("API key is empty");
    return false;
  }
  if (!req.x_api_key.empty()) {
    // A wrong X-API-Key is not rescued by Authorization; only the query fallback applies.
    if (constant_time_equal(req.x_api_key, cfg.api_key)) {
      return true;
    }
  } else if (!req.authorization.empty()) {
    auto parts = transport::http::header_fields(req.authorization);
    if (parts.size() == 2 && ascii_iequals(parts[0], "apikey") &&
        constant_time_equal(parts[1], cfg.api_key)) {
      return true;
    }
  }
  if (!req.query.empty()) {
    std::string key = transport::http::query_param(req.query, "api_key").value_or("");
    if (!key.empty() && constant_time_equal(key, cfg.api_key)) {
      return true;
    }
  }
  return false;
}

void HttpApi::handle(Request req, std::function<void(Response)> done) {
  auto name = route(req.path);
  if (!name) {
    return reply_later(done, {404, std::string(kText), "404 page not found\n"});
  }
  if (req.method != "POST") {
    return reply_later(done, empty_response(405));
  }
  if (!authorized(req)) {
    return reply_later(done, empty_response(401));
  }
  if (name->empty()) {
    return handle_legacy(std::move(req), std::move(done));
  }
  if (*name == "batch") {
    return handle_batch(req, std::move(done));
  }
  bool transport_errors =
      node_.config()->api_error_mode == "transport" || req.error_mode == "transport";
  handle_method(*method_from_name(*name), req, transport_errors, std::move(done));
}

void HttpApi::handle_method(Method m, const Request& req, bool transport_errors, Done done) {
  auto decoded = decode_request(m, req.body);
  if (!decoded) {
    // Centrifugo's line (its error is Go's decoder message; Gyre's decoder has none).
    logging::error("error decoding API request body",
                   {{"error", "malformed request body"}, {"path", req.path}});
    return reply_later(done, bad_request_text());
  }
  executor_.execute(m, std::move(*decoded), [transport_errors, done](Outcome o) {
    if (!o && api_errors::is_unencodable(o.error())) {
      return done(internal_error_text());
    }
    if (!o) {
      if (transport_errors) {
        return done(json_response(transport_status(o.error().code), error_object(o.error())));
      }
      return done(json_response(200, "{\"error\":" + error_object(o.error()) + "}"));
    }
    done(json_response(200, "{\"result\":" + *o + "}"));
  });
}

void HttpApi::handle_batch(const Request& req, Done done) {
  auto batch = decode_batch(req.body);
  if (!batch) {
    logging::error("error decoding API request body",
                   {{"error", "malformed request body"}, {"path", req.path}});
    return reply_later(done, bad_request_text());
  }
  auto st = std::make_shared<BatchState>();
  st->outcomes.resize(batch->commands.size());
  st->commands = std::move(batch->commands);
  st->left = st->commands.size();
  st->done = std::move(done);
  if (st->commands.empty()) {
    // The reference answers {} here; {"replies":[]} is the safe equivalent (§1.7.14).
    return later([st] { batch_finish(st); });
  }
  if (!batch->parallel) {
    return batch_sequential(&executor_, st);
  }
  for (size_t i = 0; i < st->commands.size(); ++i) {
    batch_run(executor_, st, i, [st, i](Outcome o) {
      st->outcomes[i] = std::move(o);
      if (--st->left == 0) {
        batch_finish(st);
      }
    });
  }
}

void HttpApi::handle_admin(Request req, Done done) { handle_legacy(std::move(req), std::move(done)); }

void HttpApi::handle_legacy(Request req, Done done) {
  if (req.body.empty()) {
    logging::error("no data in API request");
    return reply_later(done, bad_request_text());
  }
  auto st = std::make_shared<LegacyState>();
  st->executor = &executor_;
  st->node = &node_;
  st->body = std::move(req.body);
  st->done = std::move(done);
  later([st] { legacy_step(st); });
}

}  // namespace gyre::api
