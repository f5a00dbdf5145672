#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"

struct evp_pkey_st;

// JWS signature verification for the algorithms Centrifugo v5.4 accepts without JWKS
// (server-api.md §3.1, §3.2 step 7): HS256/384/512 with the HMAC secret, RS256/384/512 with an
// RSA public key, and the one ES algorithm that matches the curve of an ECDSA public key.
namespace gyre::auth {

// The keys of one TokenConfig, loaded once at startup. Immutable and thread-safe: OpenSSL 3
// allows concurrent read-only use of an EVP_PKEY, and every verify() has its own context.
class SignatureKeys {
 public:
  // `option_prefix` is "token_" or "subscription_token_"; it names the option in errors.
  // Throws std::runtime_error ("token_rsa_public_key: ...") when a configured PEM cannot be
  // parsed or holds the wrong key type, as Centrifugo refuses to start in that case.
  SignatureKeys(const config::TokenConfig& token, std::string_view option_prefix);
  ~SignatureKeys();
  SignatureKeys(const SignatureKeys&) = delete;
  SignatureKeys& operator=(const SignatureKeys&) = delete;

  // True when `signature` (already base64url-decoded) is a valid signature of `signing_input`
  // (the received "header.payload" bytes) under the header algorithm `alg`. Unknown
  // algorithms and algorithms without a configured key are false.
  bool verify(std::string_view alg, std::string_view signing_input,
              std::string_view signature) const;

 private:
  struct PkeyFree {
    void operator()(evp_pkey_st* p) const;
  };
  using Pkey = std::unique_ptr<evp_pkey_st, PkeyFree>;

  bool verify_rsa(std::string_view alg, std::string_view input, std::string_view sig) const;
  bool verify_ecdsa(std::string_view alg, std::string_view input, std::string_view sig) const;

  std::string hmac_secret_;  // empty: HS* disabled (Centrifugo checks for "")
  Pkey rsa_;
  Pkey ecdsa_;
  std::string ecdsa_alg_;  // "ES256", "ES384", "ES512", or "" for a curve with no JWS alg
};

// Verifies a JWS signature (base64url-decoded) with a public key: RS256/384/512 (PKCS#1 v1.5),
// ES256/384/512 (R||S of the alg's size) and EdDSA (Ed25519). False for anything else.
bool verify_with_key(evp_pkey_st* key, std::string_view alg, std::string_view signing_input,
                     std::string_view signature);

// HMAC of `data` with `key` for "HS256"/"HS384"/"HS512"; empty for any other alg.
std::string hmac_sign(std::string_view alg, std::string_view key, std::string_view data);

}  // namespace gyre::auth
