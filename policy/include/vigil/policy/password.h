// Password hashes and API tokens for the users of the policy (libsodium stays behind this header).
//
// Passwords: argon2id strings as libsodium's crypto_pwhash_str makes them ("$argon2id$v=19$...").
// API tokens: random 32-byte values shown once as 64 hex digits; the policy keeps only their
// SHA-256 (User::api_tokens). Thread-safe; nothing throws.
#pragma once

#include <string>
#include <string_view>

#include "vigil/core/result.h"

namespace vigil::policy {

// An argon2id hash of `password` (interactive limits: about 64 MiB and 0.1-0.5 s).
core::Result<std::string> hash_password(std::string_view password);
// True when `password` matches the argon2id `hash`; false for a wrong password or a malformed hash.
bool verify_password(std::string_view hash, std::string_view password);
// SHA-256 of `data` as 64 lowercase hex digits (how api_tokens are stored and looked up).
std::string sha256_hex(std::string_view data);
// A fresh random token, 64 hex digits.
std::string random_token();

}  // namespace vigil::policy
