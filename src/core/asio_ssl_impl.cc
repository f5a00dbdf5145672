// The one translation unit that compiles Asio's TLS layer (BOOST_ASIO_SEPARATE_COMPILATION):
// used by the HTTP client (https:// JWKS and proxies) and by the Redis engine (redis_tls).
#include <boost/asio/ssl/impl/src.hpp>
