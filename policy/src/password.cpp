#include "vigil/policy/password.h"

#include <sodium.h>

namespace vigil::policy {

namespace {

bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string to_hex(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

}  // namespace

core::Result<std::string> hash_password(std::string_view password) {
  if (!sodium_ready()) return core::make_error("libsodium failed to initialise");
  if (password.empty()) return core::make_error("empty password");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::make_error("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!sodium_ready() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // NUL-terminated copy
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[crypto_hash_sha256_BYTES];
  sodium_ready();
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(d, sizeof d);
}

std::string random_token() {
  unsigned char b[32];
  sodium_ready();
  randombytes_buf(b, sizeof b);
  return to_hex(b, sizeof b);
}

}  // namespace vigil::policy
