#include "crypto/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace faceauth {
namespace {

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "float32 expected");

constexpr size_t kKeyBytes = crypto_secretbox_KEYBYTES;  // 32
constexpr size_t kKeyHexChars = 2 * kKeyBytes;           // 64
constexpr size_t kPrefixChars = 10;

std::runtime_error file_error(const std::string& what, const std::filesystem::path& path, int err) {
  return std::runtime_error(what + " " + path.string() + ": " + std::generic_category().message(err));
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Wipes a buffer holding key material on scope exit.
template <typename Buffer>
class Wipe {
 public:
  explicit Wipe(Buffer& buffer) : buffer_(buffer) {}
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;
  ~Wipe() {
    if (!buffer_.empty()) sodium_memzero(buffer_.data(), buffer_.size());
  }

 private:
  Buffer& buffer_;
};

void write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw file_error("cannot write key file", path, errno);
    }
    done += static_cast<size_t>(n);
  }
}

// Reads a key file that must be a regular file without group or other permissions and hold
// 64 hex characters, optionally followed by one newline.
Sealer read_key_file(int fd, const std::filesystem::path& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw file_error("cannot stat key file", path, errno);
  if (!S_ISREG(info.st_mode)) throw std::runtime_error("key file " + path.string() + " is not a regular file");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw std::runtime_error("key file " + path.string() +
                             " is accessible by group or others; chmod 600 it (the key may have leaked)");
  }
  std::string text(kKeyHexChars + 2, '\0');
  Wipe<std::string> wipe_text(text);
  size_t used = 0;
  while (used < text.size()) {
    ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw file_error("cannot read key file", path, errno);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  bool ok = used == kKeyHexChars || (used == kKeyHexChars + 1 && text[kKeyHexChars] == '\n');
  if (!ok) throw std::runtime_error("key file " + path.string() + " must hold 64 hex characters");
  text.resize(kKeyHexChars);  // shrinking keeps the buffer, which Wipe clears
  try {
    return Sealer::from_hex(text);
  } catch (const std::invalid_argument&) {
    throw std::runtime_error("key file " + path.string() + " must hold 64 hex characters");
  }
}

}  // namespace

void init_crypto() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
}

NewKey generate_key(const std::string& kind) {
  if (kind.empty()) throw std::invalid_argument("key kind is empty");
  for (char c : kind) {
    if (c < 'a' || c > 'z') throw std::invalid_argument("key kind must be lowercase letters");
  }
  uint8_t random[32];
  randombytes_buf(random, sizeof random);
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  char encoded[sodium_base64_ENCODED_LEN(sizeof random, kVariant)];
  sodium_bin2base64(encoded, sizeof encoded, random, sizeof random, kVariant);
  sodium_memzero(random, sizeof random);
  NewKey out;
  out.key = kind + "_" + encoded;
  sodium_memzero(encoded, sizeof encoded);
  out.prefix = out.key.substr(0, kPrefixChars);
  out.hash = hash_key(out.key);
  return out;
}

Bytes hash_key(const std::string& key) {
  Bytes hash(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return hash;
}

bool same_hash(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  // An empty hash never matches anything, not even another empty one.
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex_id() {
  uint8_t random[16];
  randombytes_buf(random, sizeof random);
  char hex[2 * sizeof random + 1];
  sodium_bin2hex(hex, sizeof hex, random, sizeof random);
  return hex;
}

std::string random_uuid() {
  uint8_t b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char hex[2 * sizeof b + 1];
  sodium_bin2hex(hex, sizeof hex, b, sizeof b);
  std::string h(hex);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

Sealer Sealer::from_hex(const std::string& hex) {
  if (hex.size() != kKeyHexChars) throw std::invalid_argument("sealing key must be 64 hex characters");
  Bytes key(kKeyBytes);
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, &end) != 0 ||
      length != kKeyBytes || end != hex.data() + hex.size()) {
    sodium_memzero(key.data(), key.size());
    throw std::invalid_argument("sealing key must be 64 hex characters");
  }
  return Sealer(std::move(key));
}

Sealer Sealer::from_file(const std::filesystem::path& path) {
  for (int round = 0; round < 2; ++round) {
    {
      // Symlinks are followed (mounted secrets often are links); the target's mode is checked.
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() >= 0) return read_key_file(fd.get(), path);
      if (errno != ENOENT) throw file_error("cannot open key file", path, errno);
    }
    // Absent: write a fresh key to a private temporary file next to it, then link it into
    // place. link() fails when the name exists, so the key file appears complete or not at
    // all, and of two processes starting together exactly one key wins; the other reads it.
    std::filesystem::path temp = path;
    temp += ".tmp-" + random_hex_id();
    {
      Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (fd.get() < 0) throw file_error("cannot create key file", temp, errno);
      Bytes key(kKeyBytes);
      Wipe<Bytes> wipe_key(key);
      randombytes_buf(key.data(), key.size());
      std::string hex(kKeyHexChars + 1, '\0');
      Wipe<std::string> wipe_hex(hex);
      sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
      hex.back() = '\n';
      try {
        write_all(fd.get(), hex, temp);
        if (::fsync(fd.get()) != 0) throw file_error("cannot sync key file", temp, errno);
      } catch (...) {
        ::unlink(temp.c_str());
        throw;
      }
    }
    int linked = ::link(temp.c_str(), path.c_str());
    int link_errno = errno;
    ::unlink(temp.c_str());
    if (linked != 0 && link_errno != EEXIST) throw file_error("cannot create key file", path, link_errno);
    if (linked == 0) {
      std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
      Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dir_fd.get() >= 0) ::fsync(dir_fd.get());  // best effort: make the new name durable
    }
    // Read back what is now in place (ours, or another process's that won the race).
  }
  throw std::runtime_error("key file " + path.string() + " keeps disappearing");
}

Bytes Sealer::seal(std::span<const uint8_t> plain) const {
  Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  uint8_t* nonce = out.data();
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  // A zero-length message still gets a MAC; libsodium accepts a null pointer for it, but
  // keep the pointer valid anyway.
  static const uint8_t kEmpty = 0;
  const uint8_t* message = plain.empty() ? &kEmpty : plain.data();
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, message, plain.size(), nonce, key_.data());
  return out;
}

std::optional<Bytes> Sealer::open(std::span<const uint8_t> sealed) const {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
  const uint8_t* nonce = sealed.data();
  const uint8_t* cipher = sealed.data() + crypto_secretbox_NONCEBYTES;
  size_t cipher_size = sealed.size() - crypto_secretbox_NONCEBYTES;
  Bytes plain(cipher_size - crypto_secretbox_MACBYTES + 1);  // +1: never a zero-size buffer
  if (crypto_secretbox_open_easy(plain.data(), cipher, cipher_size, nonce, key_.data()) != 0) {
    sodium_memzero(plain.data(), plain.size());
    return std::nullopt;
  }
  plain.pop_back();
  return plain;
}

Bytes floats_to_bytes(const std::vector<float>& values) {
  Bytes out;
  out.reserve(values.size() * 4);
  for (float value : values) {
    uint32_t bits = std::bit_cast<uint32_t>(value);
    for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(bits >> shift));
  }
  return out;
}

std::vector<float> bytes_to_floats(std::span<const uint8_t> bytes) {
  if (bytes.size() % 4 != 0) return {};
  std::vector<float> out;
  out.reserve(bytes.size() / 4);
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t bits = static_cast<uint32_t>(bytes[i]) | static_cast<uint32_t>(bytes[i + 1]) << 8 |
                    static_cast<uint32_t>(bytes[i + 2]) << 16 | static_cast<uint32_t>(bytes[i + 3]) << 24;
    out.push_back(std::bit_cast<float>(bits));
  }
  return out;
}

}  // namespace faceauth
