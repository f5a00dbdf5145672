#pragma once

#include <cstdint>
#include <string_view>

// Which Redis shard holds a channel when several standalone Redis instances (or several
// Sentinel-managed masters) are configured: client-side sharding exactly as centrifuge v0.33
// (Centrifugo v5.4.9) does it, so that Gyre and Centrifugo nodes agree on where a channel's
// keys and PUB/SUB live. Pure functions: callable from any thread.
namespace gyre::engine::redis {

// 64-bit FNV-1a of `s` (Go's hash/fnv New64a).
uint64_t fnv1a64(std::string_view s);

// Jump consistent hash (Lamping & Veach) of fnv1a64(key) over `buckets` (>= 1), computed as
// centrifuge's consistentIndex does: the division in double precision. Returns [0, buckets).
int consistent_index(std::string_view key, int buckets);

}  // namespace gyre::engine::redis
