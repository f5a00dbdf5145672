#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/redis/redis_codec.h"

// Gyre's Lua scripts for the Redis engine and the EVALSHA argument lists they take. The
// scripts are Gyre's own; their effects on Redis (keys, fields, TTLs, the PUB/SUB message)
// are those of Centrifugo v5.4.9's scripts, so both can work on the same keys. Immutable
// values and pure functions: callable from any thread.
namespace gyre::engine::redis {

struct Script {
  std::string_view source;
  std::string sha1;  // hex, for EVALSHA
};

// Publishes with history: idempotency check, stream append, meta (epoch, top offset), PUBLISH
// of "__p1:<offset>:<epoch>__<pub>" (or "__d1:..." with delta). Returns {offset, epoch,
// from_cache "0"/"1"}.
const Script& publish_history_script();
// Publishes without history with an idempotency key. Returns the PUBLISH count or {..}.
const Script& publish_idempotent_script();
// Reads the stream: {top offset, epoch, entries or nil}.
const Script& history_script();
const Script& presence_add_script();
const Script& presence_remove_script();
const Script& presence_get_script();

// A command ready to send: EVALSHA sha numkeys keys... args...
struct ScriptCall {
  const Script* script = nullptr;
  std::vector<std::string> keys;
  std::vector<std::string> args;
  // The EVALSHA argv; eval_argv() is the EVAL twin sent after a NOSCRIPT reply.
  std::vector<std::string> evalsha_argv() const;
  std::vector<std::string> eval_argv() const;
};

// Centrifuge's idempotent result TTL (300 s) and how it formats durations: whole seconds.
inline constexpr int64_t kIdempotentResultTtlSeconds = 300;

ScriptCall publish_history_call(const RedisKeys& k, std::string_view channel,
                                const std::string& pub_bytes, const PublishOptions& opts,
                                int64_t now_unix_seconds);
ScriptCall publish_idempotent_call(const RedisKeys& k, std::string_view channel,
                                   const std::string& pub_bytes, const std::string& key);
// The history read as centrifuge's historyStream builds it: since.offset + 1 forwards,
// since.offset - 1 in reverse, no publications when limit is 0.
ScriptCall history_call(const RedisKeys& k, std::string_view channel, const HistoryFilter& f,
                        Duration meta_ttl, int64_t now_unix_seconds);
ScriptCall presence_add_call(const RedisKeys& k, std::string_view channel,
                             std::string_view client_id, const protocol::ClientInfo& info,
                             std::chrono::seconds ttl, int64_t now_unix_seconds);
ScriptCall presence_remove_call(const RedisKeys& k, std::string_view channel,
                                std::string_view client_id);
ScriptCall presence_get_call(const RedisKeys& k, std::string_view channel,
                             int64_t now_unix_seconds);

}  // namespace gyre::engine::redis
