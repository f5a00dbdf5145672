#pragma once

// Test fixture shared by the TLS and JWS unit tests: a throwaway self-signed certificate made
// with OpenSSL in memory.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>
#include <utility>

namespace gyre::test {

struct Pem {
  std::string cert;
  std::string key;
};

inline std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

// A self-signed certificate (CN `cn`, valid for an hour) carrying `key`, as PEM.
inline std::string certificate_pem(EVP_PKEY* key, const char* cn) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  X509_free(x);
  return bio_text(cb);
}

// A self-signed P-256 certificate and its key.
inline Pem make_cert(const char* cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  std::string cert = certificate_pem(key, cn);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  EVP_PKEY_free(key);
  return {std::move(cert), bio_text(kb)};
}

}  // namespace gyre::test
