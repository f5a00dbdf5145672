#pragma once

#include <string_view>

namespace gyre {

// Whether two secrets (API keys, HMAC signatures) are equal, in time that depends on their
// length only, never on how many leading bytes match (OpenSSL's CRYPTO_memcmp). Different
// lengths compare unequal at once: the length is not treated as secret (as Go's
// subtle.ConstantTimeCompare, which Centrifugo uses).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace gyre
