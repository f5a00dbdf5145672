#include "engine/redis/redis_scripts.h"

#include <openssl/sha.h>

#include <charconv>

#include <fmt/format.h>

namespace gyre::engine::redis {

namespace {

std::string sha1_hex(std::string_view s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char c : md) {
    out += fmt::format("{:02x}", c);
  }
  return out;
}

Script make(std::string_view source) { return Script{source, sha1_hex(source)}; }

// KEYS: stream, meta, result. ARGV: publication, max length, stream ttl (s), PUB/SUB channel
// ("" = none), meta ttl (s, "0" = none), epoch for a new stream, "publish", result ttl (s,
// "" = no idempotency key), "1" for delta.
constexpr std::string_view kPublishHistory = R"lua(
local stream, meta, result = KEYS[1], KEYS[2], KEYS[3]
local pub, maxlen, stream_ttl, pubsub = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta_ttl, fresh_epoch, cmd, result_ttl, delta = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if result_ttl ~= "" then
  local cached = redis.call("hmget", result, "e", "s")
  if cached[1] then
    return {cached[2], cached[1], "1"}
  end
end
local epoch = redis.call("hget", meta, "e")
if not epoch then
  epoch = fresh_epoch
  redis.call("hset", meta, "e", epoch)
end
local offset = redis.call("hincrby", meta, "s", 1)
if meta_ttl ~= "0" then
  redis.call("expire", meta, meta_ttl)
end
local prev = ""
if offset == 1 then
  -- a new epoch (or a lost meta key): whatever the stream still holds is stale
  redis.call("del", stream)
elseif delta == "1" then
  local last = redis.call("xrevrange", stream, "+", "-", "COUNT", 1)
  if #last > 0 then
    local fields = last[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == "d" then
        prev = fields[i + 1]
        break
      end
    end
  end
end
redis.call("xadd", stream, "MAXLEN", maxlen, offset, "d", pub)
redis.call("expire", stream, stream_ttl)
if pubsub ~= "" then
  local msg
  if delta == "1" then
    msg = table.concat({"__d1", offset, epoch, #prev, prev, #pub, pub}, ":")
  else
    msg = "__p1:" .. offset .. ":" .. epoch .. "__" .. pub
  end
  redis.call(cmd, pubsub, msg)
end
if result_ttl ~= "" then
  redis.call("hset", result, "e", epoch, "s", offset)
  redis.call("expire", result, result_ttl)
end
return {offset, epoch, "0"}
)lua";

// KEYS: result. ARGV: publication, PUB/SUB channel, "publish", result ttl (s).
constexpr std::string_view kPublishIdempotent = R"lua(
local result = KEYS[1]
local pub, pubsub, cmd, result_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if result_ttl ~= "" then
  local cached = redis.call("hmget", result, "e", "s")
  if cached[1] then
    return {cached[2], cached[1]}
  end
end
local n = 0
if pubsub ~= "" then
  n = redis.call(cmd, pubsub, pub)
end
if result_ttl ~= "" then
  redis.call("hset", result, "e", "")
  redis.call("expire", result, result_ttl)
end
return n
)lua";

// KEYS: stream, meta. ARGV: "1" to read entries, start id, count ("0" = all), "1" reverse,
// meta ttl (s, "0" = none), epoch for a new stream.
constexpr std::string_view kHistory = R"lua(
local stream, meta = KEYS[1], KEYS[2]
local want, from, count, reverse, meta_ttl, fresh_epoch =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local m = redis.call("hmget", meta, "e", "s")
local epoch, top = m[1], m[2]
if not epoch then
  epoch = fresh_epoch
  redis.call("hset", meta, "e", epoch)
end
if not top then
  top = 0
end
if meta_ttl ~= "0" then
  redis.call("expire", meta, meta_ttl)
end
local entries = nil
if want ~= "0" then
  local args
  if reverse == "0" then
    args = {"xrange", stream, from, "+"}
  else
    local start = top
    if from ~= "0" then
      start = from
    end
    args = {"xrevrange", stream, start, "-"}
  end
  if count ~= "0" then
    table.insert(args, "COUNT")
    table.insert(args, count)
  end
  entries = redis.call(unpack(args))
end
return {top, epoch, entries}
)lua";

// redis_use_lists. KEYS: list, meta, result. ARGV as kPublishHistory but the second is the
// LTRIM right bound (size - 1). As centrifuge's list script: the list keeps the framed
// payload, and the delta base is the list's head as stored (framed).
constexpr std::string_view kPublishHistoryList = R"lua(
local list, meta, result = KEYS[1], KEYS[2], KEYS[3]
local pub, bound, list_ttl, pubsub = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta_ttl, fresh_epoch, cmd, result_ttl, delta = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if result_ttl ~= "" then
  local cached = redis.call("hmget", result, "e", "s")
  if cached[1] then
    return {cached[2], cached[1], "1"}
  end
end
local epoch = redis.call("hget", meta, "e")
if not epoch then
  epoch = fresh_epoch
  redis.call("hset", meta, "e", epoch)
end
local offset = redis.call("hincrby", meta, "s", 1)
if meta_ttl ~= "0" then
  redis.call("expire", meta, meta_ttl)
end
local prev = ""
if delta == "1" then
  prev = redis.call("lindex", list, 0) or ""
end
local msg = "__p1:" .. offset .. ":" .. epoch .. "__" .. pub
redis.call("lpush", list, msg)
redis.call("ltrim", list, 0, bound)
redis.call("expire", list, list_ttl)
if pubsub ~= "" then
  if delta == "1" then
    msg = table.concat({"__d1", offset, epoch, #prev, prev, #pub, pub}, ":")
  end
  redis.call(cmd, pubsub, msg)
end
if result_ttl ~= "" then
  redis.call("hset", result, "e", epoch, "s", offset)
  redis.call("expire", result, result_ttl)
end
return {offset, epoch, "0"}
)lua";

// redis_use_lists. KEYS: list, meta. ARGV: "1" to read entries, LRANGE right bound, meta ttl
// (s, "0" = none), epoch for a new list.
constexpr std::string_view kHistoryList = R"lua(
local list, meta = KEYS[1], KEYS[2]
local want, bound, meta_ttl, fresh_epoch = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local m = redis.call("hmget", meta, "e", "s")
local epoch, top = m[1], m[2]
if not epoch then
  epoch = fresh_epoch
  top = 0
  redis.call("hset", meta, "e", epoch)
end
if not top then
  top = 0
end
if meta_ttl ~= "0" then
  redis.call("expire", meta, meta_ttl)
end
local entries = nil
if want ~= "0" then
  entries = redis.call("lrange", list, 0, bound)
end
return {top, epoch, entries}
)lua";

// KEYS: expire zset, data hash, user expire zset, user connections hash. ARGV: key ttl (s),
// expire-at (unix s), client id, ClientInfo, user id, "1" = user mapping
// (global_redis_presence_user_mapping: a new client adds 1 to its user's connection count,
// and the user's expiry is refreshed).
constexpr std::string_view kPresenceAdd = R"lua(
local zset, hash, user_zset, user_hash = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, expire_at, client, info, user, mapping =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local fresh = mapping == "1" and redis.call("hexists", hash, client) == 0
redis.call("hset", hash, client, info)
redis.call("expire", hash, ttl)
redis.call("zadd", zset, expire_at, client)
redis.call("expire", zset, ttl)
if mapping == "1" then
  if fresh then
    redis.call("hincrby", user_hash, user, 1)
  end
  redis.call("expire", user_hash, ttl)
  redis.call("zadd", user_zset, expire_at, user)
  redis.call("expire", user_zset, ttl)
end
return 1
)lua";

// KEYS as kPresenceAdd. ARGV: client id, user id, "1" = user mapping (the user's count drops
// by one when the client was present; at zero the user goes).
constexpr std::string_view kPresenceRemove = R"lua(
local zset, hash, user_zset, user_hash = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local client, user, mapping = ARGV[1], ARGV[2], ARGV[3]
local present = mapping == "1" and redis.call("hexists", hash, client) == 1
redis.call("hdel", hash, client)
redis.call("zrem", zset, client)
if present then
  if redis.call("hincrby", user_hash, user, -1) <= 0 then
    redis.call("zrem", user_zset, user)
    redis.call("hdel", user_hash, user)
  end
end
return 1
)lua";

// User mapping stats. KEYS as kPresenceAdd. ARGV: now (unix s). Drops expired clients and
// users, returns {clients, users}.
constexpr std::string_view kPresenceStats = R"lua(
local zset, hash, user_zset, user_hash = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local gone = redis.call("zrangebyscore", zset, "0", ARGV[1])
for _, client in ipairs(gone) do
  redis.call("hdel", hash, client)
end
if #gone > 0 then
  redis.call("zremrangebyscore", zset, "0", ARGV[1])
end
local users_gone = redis.call("zrangebyscore", user_zset, "0", ARGV[1])
for _, user in ipairs(users_gone) do
  redis.call("hdel", user_hash, user)
end
if #users_gone > 0 then
  redis.call("zremrangebyscore", user_zset, "0", ARGV[1])
end
return {redis.call("hlen", hash), redis.call("hlen", user_hash)}
)lua";

// KEYS: expire zset, data hash. ARGV: now (unix s). Drops expired entries, returns the hash.
constexpr std::string_view kPresenceGet = R"lua(
local zset, hash = KEYS[1], KEYS[2]
local gone = redis.call("zrangebyscore", zset, "0", ARGV[1])
for _, client in ipairs(gone) do
  redis.call("hdel", hash, client)
end
if #gone > 0 then
  redis.call("zremrangebyscore", zset, "0", ARGV[1])
end
return redis.call("hgetall", hash)
)lua";

std::string seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

const Script& publish_history_script() {
  static const Script s = make(kPublishHistory);
  return s;
}
const Script& publish_idempotent_script() {
  static const Script s = make(kPublishIdempotent);
  return s;
}
const Script& history_script() {
  static const Script s = make(kHistory);
  return s;
}
const Script& publish_history_list_script() {
  static const Script s = make(kPublishHistoryList);
  return s;
}
const Script& history_list_script() {
  static const Script s = make(kHistoryList);
  return s;
}
const Script& presence_add_script() {
  static const Script s = make(kPresenceAdd);
  return s;
}
const Script& presence_remove_script() {
  static const Script s = make(kPresenceRemove);
  return s;
}
const Script& presence_stats_script() {
  static const Script s = make(kPresenceStats);
  return s;
}
const Script& presence_get_script() {
  static const Script s = make(kPresenceGet);
  return s;
}

std::vector<std::string> ScriptCall::evalsha_argv() const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.push_back(script->sha1);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> ScriptCall::eval_argv() const {
  std::vector<std::string> argv = evalsha_argv();
  argv[0] = "EVAL";
  argv[1] = std::string(script->source);
  return argv;
}

ScriptCall publish_history_call(const RedisKeys& k, std::string_view channel,
                                const std::string& pub_bytes, const PublishOptions& opts,
                                int64_t now_unix_seconds) {
  ScriptCall c;
  c.script = &publish_history_script();
  c.keys = {k.stream(channel), k.stream_meta(channel),
            k.result(channel, opts.idempotency_key)};
  c.args = {pub_bytes,
            std::to_string(opts.history.size),
            seconds(opts.history.ttl),
            k.client_channel(channel),
            seconds(opts.history.meta_ttl),
            std::to_string(now_unix_seconds),
            "publish",
            opts.idempotency_key.empty() ? "" : std::to_string(kIdempotentResultTtlSeconds),
            opts.delta ? "1" : ""};
  return c;
}

ScriptCall publish_history_list_call(const RedisKeys& k, std::string_view channel,
                                     const std::string& pub_bytes, const PublishOptions& opts,
                                     int64_t now_unix_seconds) {
  ScriptCall c = publish_history_call(k, channel, pub_bytes, opts, now_unix_seconds);
  c.script = &publish_history_list_script();
  c.keys[0] = k.list(channel);
  c.keys[1] = k.list_meta(channel);
  c.args[1] = std::to_string(static_cast<int64_t>(opts.history.size) - 1);
  return c;
}

ScriptCall history_list_call(const RedisKeys& k, std::string_view channel,
                             const HistoryFilter& f, Duration meta_ttl,
                             int64_t now_unix_seconds) {
  ScriptCall c;
  c.script = &history_list_script();
  c.keys = {k.list(channel), k.list_meta(channel)};
  const bool want = f.limit != 0;
  c.args = {want ? "1" : "0", want ? "-1" : "0", seconds(meta_ttl),
            std::to_string(now_unix_seconds)};
  return c;
}

std::vector<std::shared_ptr<const Publication>> filter_list_history(
    std::vector<std::shared_ptr<const Publication>> pubs, const HistoryFilter& f,
    const StreamPosition& top) {
  auto first = [&pubs](size_t from, int limit) {
    std::vector<std::shared_ptr<const Publication>> out;
    for (size_t i = from; i < pubs.size(); ++i) {
      if (limit >= 0 && out.size() >= static_cast<size_t>(limit)) {
        break;
      }
      out.push_back(pubs[i]);
    }
    return out;
  };
  if (!f.since) {
    return first(0, f.limit);
  }
  if ((top.offset == f.since->offset && f.since->epoch == top.epoch) ||
      top.offset < f.since->offset) {
    return {};
  }
  for (size_t i = 0; i < pubs.size(); ++i) {
    if (pubs[i]->offset == f.since->offset) {
      return first(i + 1, f.limit);
    }
    if (pubs[i]->offset == f.since->offset + 1) {
      return first(i, f.limit);
    }
  }
  return first(0, f.limit);
}

std::optional<std::pair<uint64_t, std::string_view>> parse_p1(std::string_view framed) {
  constexpr std::string_view kHead = "__p1:";
  if (!framed.starts_with(kHead)) {
    return std::nullopt;
  }
  framed.remove_prefix(kHead.size());
  uint64_t offset = 0;
  auto [p, ec] = std::from_chars(framed.data(), framed.data() + framed.size(), offset);
  if (ec != std::errc{} || p == framed.data() + framed.size() || *p != ':') {
    return std::nullopt;
  }
  auto end = framed.find("__", static_cast<size_t>(p - framed.data()) + 1);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  return std::make_pair(offset, framed.substr(end + 2));
}

ScriptCall publish_idempotent_call(const RedisKeys& k, std::string_view channel,
                                   const std::string& pub_bytes, const std::string& key) {
  ScriptCall c;
  c.script = &publish_idempotent_script();
  c.keys = {k.result(channel, key)};
  c.args = {pub_bytes, k.client_channel(channel), "publish",
            std::to_string(kIdempotentResultTtlSeconds)};
  return c;
}

ScriptCall history_call(const RedisKeys& k, std::string_view channel, const HistoryFilter& f,
                        Duration meta_ttl, int64_t now_unix_seconds) {
  bool want = f.limit != 0;
  uint64_t from = 0;
  if (f.since) {
    if (f.reverse) {
      from = f.since->offset - 1;
      if (from == 0) {
        want = false;
      }
    } else {
      from = f.since->offset + 1;
    }
  }
  ScriptCall c;
  c.script = &history_script();
  c.keys = {k.stream(channel), k.stream_meta(channel)};
  c.args = {want ? "1" : "0",
            std::to_string(from),
            std::to_string(f.limit > 0 ? f.limit : 0),
            f.reverse ? "1" : "0",
            seconds(meta_ttl),
            std::to_string(now_unix_seconds)};
  return c;
}

namespace {
std::vector<std::string> presence_keys(const RedisKeys& k, std::string_view channel) {
  return {k.presence_expire(channel), k.presence_data(channel), k.presence_user_expire(channel),
          k.presence_user_clients(channel)};
}
}  // namespace

ScriptCall presence_add_call(const RedisKeys& k, std::string_view channel,
                             std::string_view client_id, const protocol::ClientInfo& info,
                             std::chrono::seconds ttl, int64_t now_unix_seconds,
                             bool user_mapping) {
  ScriptCall c;
  c.script = &presence_add_script();
  c.keys = presence_keys(k, channel);
  c.args = {std::to_string(ttl.count()), std::to_string(now_unix_seconds + ttl.count()),
            std::string(client_id), encode_client_info(info), info.user,
            user_mapping ? "1" : "0"};
  return c;
}

ScriptCall presence_remove_call(const RedisKeys& k, std::string_view channel,
                                std::string_view client_id, std::string_view user_id,
                                bool user_mapping) {
  ScriptCall c;
  c.script = &presence_remove_script();
  c.keys = presence_keys(k, channel);
  c.args = {std::string(client_id), std::string(user_id), user_mapping ? "1" : "0"};
  return c;
}

ScriptCall presence_stats_call(const RedisKeys& k, std::string_view channel,
                               int64_t now_unix_seconds) {
  ScriptCall c;
  c.script = &presence_stats_script();
  c.keys = presence_keys(k, channel);
  c.args = {std::to_string(now_unix_seconds)};
  return c;
}

ScriptCall presence_get_call(const RedisKeys& k, std::string_view channel,
                             int64_t now_unix_seconds) {
  ScriptCall c;
  c.script = &presence_get_script();
  c.keys = {k.presence_expire(channel), k.presence_data(channel)};
  c.args = {std::to_string(now_unix_seconds)};
  return c;
}

}  // namespace gyre::engine::redis
