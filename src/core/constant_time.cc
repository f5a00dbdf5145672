#include "core/constant_time.h"

#include <openssl/crypto.h>

namespace gyre {

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gyre
