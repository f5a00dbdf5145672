#include "auth/jwks.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <simdjson.h>

#include "auth/jws.h"
#include "core/base64.h"
#include "protocol/json_raw.h"

namespace gyre::auth {
namespace {

using protocol::key_is;

struct Fields {
  std::string kid, kty, alg, use, n, e, crv, x, y;
};

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      key = nullptr;
    }
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key;
}

EVP_PKEY* rsa_key(const Fields& f) {
  auto n = base64::decode_url(f.n);
  auto e = base64::decode_url(f.e);
  if (!n || !e || n->empty() || e->empty()) {
    return nullptr;
  }
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && bld != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    key = from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

EVP_PKEY* ec_key(const Fields& f) {
  const char* group = nullptr;
  size_t size = 0;
  if (f.crv == "P-256") {
    group = "prime256v1";
    size = 32;
  } else if (f.crv == "P-384") {
    group = "secp384r1";
    size = 48;
  } else if (f.crv == "P-521") {
    group = "secp521r1";
    size = 66;
  } else {
    return nullptr;
  }
  auto x = base64::decode_url(f.x);
  auto y = base64::decode_url(f.y);
  if (!x || !y || x->size() > size || y->size() > size) {
    return nullptr;
  }
  // Uncompressed point: 0x04 || X || Y, each left-padded to the field size.
  std::string point(1 + 2 * size, '\0');
  point[0] = 0x04;
  point.replace(1 + size - x->size(), x->size(), *x);
  point.replace(1 + 2 * size - y->size(), y->size(), *y);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bld != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1) {
    key = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

EVP_PKEY* okp_key(const Fields& f) {
  if (f.crv != "Ed25519") {
    return nullptr;
  }
  auto x = base64::decode_url(f.x);
  if (!x || x->size() != 32) {
    return nullptr;
  }
  return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                     reinterpret_cast<const unsigned char*>(x->data()), 32);
}

bool read_string(simdjson::dom::element v, std::string& out) {
  if (v.is_null()) {
    return true;  // Go leaves the field unchanged
  }
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    return false;
  }
  out.assign(s);
  return true;
}

}  // namespace

Jwk::~Jwk() { EVP_PKEY_free(key); }

bool Jwk::verify(std::string_view token_alg, std::string_view signing_input,
                 std::string_view signature) const {
  if (key == nullptr) {
    return false;
  }
  if (kty == "OKP") {
    return token_alg == "EdDSA" && verify_with_key(key, "EdDSA", signing_input, signature);
  }
  if (token_alg != alg) {
    return false;
  }
  if (kty == "RSA" && (alg == "RS256" || alg == "RS384" || alg == "RS512")) {
    return verify_with_key(key, alg, signing_input, signature);
  }
  if (kty == "EC" && (alg == "ES256" || alg == "ES384" || alg == "ES512")) {
    return verify_with_key(key, alg, signing_input, signature);
  }
  return false;
}

std::expected<std::vector<std::shared_ptr<const Jwk>>, std::string> parse_jwk_set(
    std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string json(body);
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) {
    return std::unexpected("jwks: unmarshal error: invalid JSON");
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return std::unexpected("jwks: unmarshal error: not an object");
  }
  std::vector<std::shared_ptr<const Jwk>> out;
  for (auto [k, v] : top) {
    if (!key_is(k, "keys")) {
      continue;
    }
    out.clear();
    if (v.is_null()) {
      continue;
    }
    simdjson::dom::array keys;
    if (v.get_array().get(keys) != simdjson::SUCCESS) {
      return std::unexpected("jwks: unmarshal error: keys is not an array");
    }
    for (simdjson::dom::element item : keys) {
      simdjson::dom::object obj;
      if (item.get_object().get(obj) != simdjson::SUCCESS) {
        return std::unexpected("jwks: unmarshal error: key is not an object");
      }
      Fields f;
      for (auto [name, value] : obj) {
        std::string* target = nullptr;
        if (key_is(name, "kid")) target = &f.kid;
        else if (key_is(name, "kty")) target = &f.kty;
        else if (key_is(name, "alg")) target = &f.alg;
        else if (key_is(name, "use")) target = &f.use;
        else if (key_is(name, "n")) target = &f.n;
        else if (key_is(name, "e")) target = &f.e;
        else if (key_is(name, "crv")) target = &f.crv;
        else if (key_is(name, "x")) target = &f.x;
        else if (key_is(name, "y")) target = &f.y;
        if (target != nullptr && !read_string(value, *target)) {
          return std::unexpected("jwks: unmarshal error: " + std::string(name) +
                                 " is not a string");
        }
      }
      auto jwk = std::make_shared<Jwk>();
      if (f.kty == "RSA") {
        jwk->key = rsa_key(f);
      } else if (f.kty == "EC") {
        jwk->key = ec_key(f);
      } else if (f.kty == "OKP") {
        jwk->key = okp_key(f);
      }
      ERR_clear_error();
      if ((f.kty == "RSA" || f.kty == "EC" || f.kty == "OKP") && jwk->key == nullptr) {
        return std::unexpected("jwks: convert error: bad " + f.kty + " key " + f.kid);
      }
      jwk->kid = std::move(f.kid);
      jwk->kty = std::move(f.kty);
      jwk->alg = std::move(f.alg);
      jwk->use = std::move(f.use);
      out.push_back(std::move(jwk));
    }
  }
  return out;
}

std::string expand_jwks_url(std::string_view url, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t pos = 0;
  while (pos < url.size()) {
    size_t open = url.find("{{", pos);
    if (open == std::string_view::npos) {
      break;
    }
    size_t close = url.find("}}", open + 2);
    if (close == std::string_view::npos) {
      break;
    }
    out.append(url.substr(pos, open - pos));
    auto it = vars.find(std::string(url.substr(open + 2, close - open - 2)));
    if (it != vars.end()) {
      out += it->second;
    }
    pos = close + 2;
  }
  out.append(url.substr(pos));
  return out;
}

std::shared_ptr<const Jwk> JwksCache::find(std::string_view kid) const {
  std::lock_guard lock(mu_);
  auto it = keys_.find(std::string(kid));
  if (it == keys_.end() || it->second.expires <= std::chrono::steady_clock::now()) {
    return nullptr;
  }
  return it->second.key;
}

std::shared_ptr<const Jwk> JwksCache::store(const std::vector<std::shared_ptr<const Jwk>>& set,
                                            std::string_view kid) {
  std::shared_ptr<const Jwk> found;
  auto expires = std::chrono::steady_clock::now() + ttl_;
  std::lock_guard lock(mu_);
  for (const auto& key : set) {
    if (key->use != "sig") {
      continue;
    }
    keys_[key->kid] = Entry{key, expires};
    if (key->kid == kid) {
      found = key;
    }
  }
  // Drop expired entries so rotated-out keys do not accumulate.
  auto now = std::chrono::steady_clock::now();
  std::erase_if(keys_, [&](const auto& kv) { return kv.second.expires <= now; });
  return found;
}

}  // namespace gyre::auth
