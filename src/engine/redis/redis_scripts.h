#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
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
// redis_use_lists twins (centrifuge's list branch): LPUSH of "__p1:<offset>:<epoch>__<pub>"
// + LTRIM, the same PUBLISH; the read returns {top offset, epoch, LRANGE 0 <bound> or nil}.
const Script& publish_history_list_script();
const Script& history_list_script();
const Script& presence_add_script();
const Script& presence_remove_script();
const Script& presence_get_script();
// global_redis_presence_user_mapping: {clients, users} from the hashes, expired ones dropped.
const Script& presence_stats_script();

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
ScriptCall publish_history_list_call(const RedisKeys& k, std::string_view channel,
                                     const std::string& pub_bytes, const PublishOptions& opts,
                                     int64_t now_unix_seconds);
// Lists are read whole (LRANGE 0 -1, or only the meta with limit 0) and filtered by
// filter_list_history, as centrifuge's historyList does.
ScriptCall history_list_call(const RedisKeys& k, std::string_view channel,
                             const HistoryFilter& f, Duration meta_ttl,
                             int64_t now_unix_seconds);
// centrifuge's historyList selection over `pubs` (oldest first) and the top position:
// no since → the first `limit` (all when < 0); since at the top → none; else from the entry
// after since.offset (or at since.offset + 1), up to `limit`; not found → the first `limit`.
// Reverse is ignored (centrifuge's list history has no reverse).
std::vector<std::shared_ptr<const Publication>> filter_list_history(
    std::vector<std::shared_ptr<const Publication>> pubs, const HistoryFilter& f,
    const StreamPosition& top);
// "__p1:<offset>:<epoch>__<payload>" → offset and payload; nullopt when not so framed.
std::optional<std::pair<uint64_t, std::string_view>> parse_p1(std::string_view framed);

ScriptCall publish_idempotent_call(const RedisKeys& k, std::string_view channel,
                                   const std::string& pub_bytes, const std::string& key);
// The history read as centrifuge's historyStream builds it: since.offset + 1 forwards,
// since.offset - 1 in reverse, no publications when limit is 0.
ScriptCall history_call(const RedisKeys& k, std::string_view channel, const HistoryFilter& f,
                        Duration meta_ttl, int64_t now_unix_seconds);
// Presence scripts take the four keys of centrifuge (expire zset, data hash, user expire
// zset, user connections hash); the user ones are written only with `user_mapping`.
ScriptCall presence_add_call(const RedisKeys& k, std::string_view channel,
                             std::string_view client_id, const protocol::ClientInfo& info,
                             std::chrono::seconds ttl, int64_t now_unix_seconds,
                             bool user_mapping = false);
ScriptCall presence_remove_call(const RedisKeys& k, std::string_view channel,
                                std::string_view client_id, std::string_view user_id = {},
                                bool user_mapping = false);
ScriptCall presence_stats_call(const RedisKeys& k, std::string_view channel,
                               int64_t now_unix_seconds);
ScriptCall presence_get_call(const RedisKeys& k, std::string_view channel,
                             int64_t now_unix_seconds);

}  // namespace gyre::engine::redis
