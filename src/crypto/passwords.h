#pragma once
// Passwords and session tokens of dashboard users. Passwords are hashed with libsodium's
// argon2id (crypto_pwhash_str: salt and parameters inside the string it returns). A session
// token is random and shown only to the browser; the store keeps its SHA-256. The CSRF token
// of a session is derived from the session token, so it needs no storage of its own and is
// worthless without the cookie it belongs to.

#include <string>

#include "crypto/secrets.h"

namespace faceauth {

// argon2id, libsodium's interactive limits. Throws std::runtime_error when out of memory.
std::string hash_password(const std::string& password);
// Constant time in the password (libsodium); false for a malformed hash.
bool verify_password(const std::string& hash, const std::string& password);
// A password people can type: 20 characters of base64url from 15 random bytes (120 bits).
std::string random_password();
// Rules for a password a person picks: 10-256 bytes.
bool acceptable_password(const std::string& password);

struct NewSession {
  std::string token;  // to the browser, in the cookie only
  Bytes hash;         // SHA-256(token), to the store
};
NewSession new_session_token();
// hex(SHA-256("faceauth-csrf:" + token)): the synchronizer token of a session.
std::string csrf_token_for(const std::string& session_token);
// A random token (hex) for the double-submit cookie of the sign-in form.
std::string random_token_hex();
// Constant-time equality of two strings of the same length (false when lengths differ).
bool same_text(const std::string& a, const std::string& b);

}  // namespace faceauth
