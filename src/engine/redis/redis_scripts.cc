#include "engine/redis/redis_scripts.h"

#include <openssl/sha.h>

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

// KEYS: expire zset, data hash. ARGV: key ttl (s), expire-at (unix s), client id, ClientInfo.
constexpr std::string_view kPresenceAdd = R"lua(
local zset, hash = KEYS[1], KEYS[2]
local ttl, expire_at, client, info = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call("hset", hash, client, info)
redis.call("expire", hash, ttl)
redis.call("zadd", zset, expire_at, client)
redis.call("expire", zset, ttl)
return 1
)lua";

// KEYS: expire zset, data hash. ARGV: client id.
constexpr std::string_view kPresenceRemove = R"lua(
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("zrem", KEYS[1], ARGV[1])
return 1
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
const Script& presence_add_script() {
  static const Script s = make(kPresenceAdd);
  return s;
}
const Script& presence_remove_script() {
  static const Script s = make(kPresenceRemove);
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

ScriptCall presence_add_call(const RedisKeys& k, std::string_view channel,
                             std::string_view client_id, const protocol::ClientInfo& info,
                             std::chrono::seconds ttl, int64_t now_unix_seconds) {
  ScriptCall c;
  c.script = &presence_add_script();
  c.keys = {k.presence_expire(channel), k.presence_data(channel)};
  c.args = {std::to_string(ttl.count()), std::to_string(now_unix_seconds + ttl.count()),
            std::string(client_id), encode_client_info(info)};
  return c;
}

ScriptCall presence_remove_call(const RedisKeys& k, std::string_view channel,
                                std::string_view client_id) {
  ScriptCall c;
  c.script = &presence_remove_script();
  c.keys = {k.presence_expire(channel), k.presence_data(channel)};
  c.args = {std::string(client_id)};
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
