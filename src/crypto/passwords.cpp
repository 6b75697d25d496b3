#include "crypto/passwords.h"

#include <sodium.h>

#include <stdexcept>

namespace faceauth {
namespace {

std::string base64url(const unsigned char* data, size_t size) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(size, kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string hex(const Bytes& bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

}  // namespace

std::string hash_password(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string random_password() {
  unsigned char random[15];
  randombytes_buf(random, sizeof random);
  return base64url(random, sizeof random);
}

bool acceptable_password(const std::string& password) { return password.size() >= 10 && password.size() <= 256; }

NewSession new_session_token() {
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  NewSession session;
  session.token = base64url(random, sizeof random);
  session.hash = hash_key(session.token);
  return session;
}

std::string csrf_token_for(const std::string& session_token) { return hex(hash_key("faceauth-csrf:" + session_token)); }

std::string random_token_hex() {
  Bytes random(24);
  randombytes_buf(random.data(), random.size());
  return hex(random);
}

bool same_text(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace faceauth
