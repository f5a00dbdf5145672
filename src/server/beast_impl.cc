// The one translation unit that compiles Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/beast/src.hpp>
// Asio's TLS layer, compiled once too (used by the HTTP client for https:// JWKS).
#include <boost/asio/ssl/impl/src.hpp>
