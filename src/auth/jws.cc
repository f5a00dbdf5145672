#include "auth/jws.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "core/constant_time.h"

namespace gyre::auth {
namespace {

const EVP_MD* digest_for(std::string_view alg) {
  // The last three characters of every supported alg name the SHA-2 size.
  if (alg.size() != 5) {
    return nullptr;
  }
  std::string_view bits = alg.substr(2);
  if (bits == "256") {
    return EVP_sha256();
  }
  if (bits == "384") {
    return EVP_sha384();
  }
  if (bits == "512") {
    return EVP_sha512();
  }
  return nullptr;
}

[[noreturn]] void fail(std::string_view option, std::string_view what) {
  ERR_clear_error();
  throw std::runtime_error(std::string(option) + ": " + std::string(what));
}

// Mirrors Centrifugo's jwtutils parsing: the first PEM block (its label is not checked) holds
// either a PKIX SubjectPublicKeyInfo or, failing that, an X.509 certificate.
EVP_PKEY* load_public_key(const std::string& pem, std::string_view option) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    fail(option, "out of memory");
  }
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  int ok = PEM_read_bio(bio, &name, &header, &der, &len);
  BIO_free(bio);
  if (ok != 1) {
    fail(option, "key must be PEM encoded");
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  const unsigned char* p = der;
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, len);
  if (key != nullptr && p != der + len) {
    // Go's x509.ParsePKIXPublicKey rejects trailing data.
    EVP_PKEY_free(key);
    key = nullptr;
  }
  if (key == nullptr) {
    p = der;
    X509* cert = d2i_X509(nullptr, &p, len);
    if (cert != nullptr) {
      key = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  OPENSSL_free(der);
  if (key == nullptr) {
    fail(option, "can not parse PEM as a PKIX public key or an X.509 certificate");
  }
  ERR_clear_error();
  return key;
}

bool digest_verify(EVP_PKEY* key, const EVP_MD* md, std::string_view input,
                   std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) {
    return false;
  }
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                             sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  // A failed verification leaves entries on this thread's error queue; drop them so they do
  // not surface in unrelated OpenSSL calls later.
  ERR_clear_error();
  return ok;
}

}  // namespace

void SignatureKeys::PkeyFree::operator()(evp_pkey_st* p) const { EVP_PKEY_free(p); }

SignatureKeys::SignatureKeys(const config::TokenConfig& token, std::string_view option_prefix)
    : hmac_secret_(token.hmac_secret_key) {
  if (!token.rsa_public_key.empty()) {
    std::string option = std::string(option_prefix) + "rsa_public_key";
    rsa_.reset(load_public_key(token.rsa_public_key, option));
    if (EVP_PKEY_get_base_id(rsa_.get()) != EVP_PKEY_RSA) {
      fail(option, "not an RSA public key");
    }
  }
  if (!token.ecdsa_public_key.empty()) {
    std::string option = std::string(option_prefix) + "ecdsa_public_key";
    ecdsa_.reset(load_public_key(token.ecdsa_public_key, option));
    if (EVP_PKEY_get_base_id(ecdsa_.get()) != EVP_PKEY_EC) {
      fail(option, "not an ECDSA public key");
    }
    char group[80] = {};
    size_t group_len = 0;
    if (EVP_PKEY_get_group_name(ecdsa_.get(), group, sizeof(group), &group_len) != 1) {
      fail(option, "ECDSA key without a named curve");
    }
    int nid = OBJ_txt2nid(group);
    if (nid == NID_X9_62_prime256v1) {
      ecdsa_alg_ = "ES256";
    } else if (nid == NID_secp384r1) {
      ecdsa_alg_ = "ES384";
    } else if (nid == NID_secp521r1) {
      ecdsa_alg_ = "ES512";
    } else if (nid != NID_secp224r1) {
      // Go's x509 parses only the NIST curves; P-224 loads but enables no ES algorithm.
      fail(option, std::string("unsupported elliptic curve ") + group);
    }
    ERR_clear_error();
  }
}

SignatureKeys::~SignatureKeys() = default;

bool SignatureKeys::verify(std::string_view alg, std::string_view signing_input,
                           std::string_view signature) const {
  if (alg == "HS256" || alg == "HS384" || alg == "HS512") {
    if (hmac_secret_.empty()) {
      return false;
    }
    std::string expected = hmac_sign(alg, hmac_secret_, signing_input);
    // Constant time: the comparison must not leak how many leading bytes of a forged
    // signature are right. The length is public (it follows from alg).
    return !expected.empty() && constant_time_equal(expected, signature);
  }
  if (alg == "RS256" || alg == "RS384" || alg == "RS512") {
    return verify_rsa(alg, signing_input, signature);
  }
  if (alg == "ES256" || alg == "ES384" || alg == "ES512") {
    return verify_ecdsa(alg, signing_input, signature);
  }
  // none, PS*, EdDSA and anything else: not accepted without JWKS (server-api.md §3.2 step 7).
  return false;
}

bool SignatureKeys::verify_rsa(std::string_view alg, std::string_view input,
                               std::string_view sig) const {
  if (!rsa_) {
    return false;
  }
  return verify_with_key(rsa_.get(), alg, input, sig);
}

bool SignatureKeys::verify_ecdsa(std::string_view alg, std::string_view input,
                                 std::string_view sig) const {
  // Only the algorithm of the key's curve is enabled (cristalhq/jwt NewVerifierES).
  if (!ecdsa_ || alg != ecdsa_alg_) {
    return false;
  }
  return verify_with_key(ecdsa_.get(), alg, input, sig);
}

bool verify_with_key(evp_pkey_st* key, std::string_view alg, std::string_view input,
                     std::string_view sig) {
  if (key == nullptr) {
    return false;
  }
  if (alg == "EdDSA") {
    return digest_verify(key, nullptr, input, sig);
  }
  const EVP_MD* md = digest_for(alg);
  if (md == nullptr) {
    return false;
  }
  if (alg.starts_with("RS")) {
    return digest_verify(key, md, input, sig);
  }
  if (!alg.starts_with("ES")) {
    return false;
  }
  // JWS carries R||S (RFC 7518 §3.4) of the size the alg names (cristalhq/jwt checks it);
  // OpenSSL wants an ASN.1 DER ECDSA-Sig-Value.
  size_t half_size = alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
  if (sig.size() != 2 * half_size) {
    return false;
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  int half = static_cast<int>(half_size);
  ECDSA_SIG* es = ECDSA_SIG_new();
  if (es == nullptr) {
    return false;
  }
  BIGNUM* r = BN_bin2bn(raw, half, nullptr);
  BIGNUM* s = BN_bin2bn(raw + half, half, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  if (der_len <= 0) {
    return false;
  }
  bool ok = digest_verify(key, md, input,
                          std::string_view(reinterpret_cast<const char*>(der), der_len));
  OPENSSL_free(der);
  return ok;
}

std::string hmac_sign(std::string_view alg, std::string_view key, std::string_view data) {
  const EVP_MD* md = nullptr;
  if (alg == "HS256" || alg == "HS384" || alg == "HS512") {
    md = digest_for(alg);
  }
  if (md == nullptr || key.size() > INT_MAX) {
    return {};
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // OpenSSL reads a null key as "reuse the previous key"; an empty key needs a real pointer.
  static const char kEmptyKey = 0;
  if (HMAC(md, key.empty() ? &kEmptyKey : key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &out_len) == nullptr) {
    ERR_clear_error();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

}  // namespace gyre::auth
