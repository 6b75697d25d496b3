#pragma once
// Secrets: API keys (random, shown once, stored as SHA-256 hashes, compared in constant
// time) and sealing of biometric data at rest (libsodium secretbox, XSalsa20-Poly1305).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace faceauth {

using Bytes = std::vector<uint8_t>;

// Must be called once before anything else here (sodium_init); throws on failure.
void init_crypto();

struct NewKey {
  std::string key;     // shown once to the person who asked for it
  std::string prefix;  // first 10 characters, for display
  Bytes hash;          // SHA-256(key), what is stored
};

// "<kind>_" + 43 base64url characters of 32 random bytes; kind is "kyc", "fa" or "adm".
NewKey generate_key(const std::string& kind);
Bytes hash_key(const std::string& key);
// Constant-time equality of two hashes (false when lengths differ).
bool same_hash(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A random id of 16 bytes in hex (32 characters), or UUID v4 text.
std::string random_hex_id();
std::string random_uuid();

class Sealer {
 public:
  // The 32-byte key from hex text (64 characters); throws std::invalid_argument.
  static Sealer from_hex(const std::string& hex);
  // Reads the key file, or creates it (0600) with a fresh key when absent.
  static Sealer from_file(const std::filesystem::path& path);

  Bytes seal(std::span<const uint8_t> plain) const;  // nonce || ciphertext
  // nothing when the data was not sealed by this key or was altered
  std::optional<Bytes> open(std::span<const uint8_t> sealed) const;

 private:
  explicit Sealer(Bytes key) : key_(std::move(key)) {}
  Bytes key_;
};

// Descriptor floats <-> bytes (little-endian float32) for sealing.
Bytes floats_to_bytes(const std::vector<float>& values);
std::vector<float> bytes_to_floats(std::span<const uint8_t> bytes);

}  // namespace faceauth
