#pragma once

#include <expected>
#include <functional>

#include "core/errors.h"

// The one shape of an operation's outcome, as Dragonfly's OpResult<T> / OpStatus: a value, or
// the Error (a Centrifugo code and message, core/errors.h) that the caller maps to its
// protocol — a client reply error, an API error object, an HTTP status. Engine operations,
// the server API executor and the client session's engine-backed steps all use it; a step of
// the client session that may also end the connection carries a node::Failure (Error or
// Disconnect) instead, since the two must never be blurred (shared/STYLE.md "Errors").
// Value types: thread-safe to move across shards.
namespace gyre {

template <typename T>
using OpResult = std::expected<T, Error>;
using OpStatus = OpResult<void>;

// Completion of an asynchronous operation; where it runs is the operation's contract.
template <typename T>
using OpCallback = std::function<void(OpResult<T>)>;

}  // namespace gyre
