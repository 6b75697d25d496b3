#include "crypto/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

namespace faceauth {
namespace {

namespace fs = std::filesystem;

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_crypto();
    dir_ = fs::temp_directory_path() / ("faceauth_secrets_" + random_hex_id());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
};

Bytes bytes_of(const std::string& text) { return Bytes(text.begin(), text.end()); }

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0);
  return info.st_mode & 0777;
}

void write_file(const fs::path& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST_F(SecretsTest, KeysHaveTheDocumentedFormatAndAreUnique) {
  const std::regex format("(kyc|fa|adm)_[A-Za-z0-9_-]{43}");
  std::set<std::string> seen;
  for (const char* kind : {"kyc", "fa", "adm"}) {
    for (int i = 0; i < 100; ++i) {
      NewKey key = generate_key(kind);
      EXPECT_TRUE(std::regex_match(key.key, format)) << key.key;
      EXPECT_EQ(key.key.rfind(std::string(kind) + "_", 0), 0u);
      EXPECT_EQ(key.prefix, key.key.substr(0, 10));
      EXPECT_EQ(key.hash, hash_key(key.key));
      EXPECT_EQ(key.hash.size(), 32u);
      EXPECT_TRUE(seen.insert(key.key).second) << "duplicate key";
    }
  }
  EXPECT_THROW(generate_key(""), std::invalid_argument);
  EXPECT_THROW(generate_key("a_b"), std::invalid_argument);
}

TEST_F(SecretsTest, HashKeyIsSha256) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  const Bytes expected = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                          0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                          0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(hash_key("abc"), expected);
  EXPECT_NE(hash_key("abc"), hash_key("abd"));
}

TEST_F(SecretsTest, SameHash) {
  Bytes a = hash_key("kyc_one");
  Bytes b = hash_key("kyc_one");
  Bytes c = hash_key("kyc_two");
  EXPECT_TRUE(same_hash(a, b));
  EXPECT_FALSE(same_hash(a, c));
  Bytes shorter(a.begin(), a.end() - 1);
  EXPECT_FALSE(same_hash(a, shorter));
  EXPECT_FALSE(same_hash(shorter, a));
  EXPECT_FALSE(same_hash(Bytes{}, Bytes{}));
  Bytes last_differs = a;
  last_differs.back() ^= 1;
  EXPECT_FALSE(same_hash(a, last_differs));
}

TEST_F(SecretsTest, RandomIds) {
  const std::regex hex("[0-9a-f]{32}");
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = random_hex_id();
    std::string u = random_uuid();
    EXPECT_TRUE(std::regex_match(id, hex)) << id;
    EXPECT_TRUE(std::regex_match(u, uuid)) << u;
    EXPECT_TRUE(seen.insert(id).second);
    EXPECT_TRUE(seen.insert(u).second);
  }
}

TEST_F(SecretsTest, SealOpenRoundTrip) {
  Sealer sealer = Sealer::from_hex(kHexKey);
  for (const std::string& text : {std::string(), std::string("x"), std::string(10000, 'q')}) {
    Bytes plain = bytes_of(text);
    Bytes sealed = sealer.seal(plain);
    EXPECT_EQ(sealed.size(), plain.size() + 40u);  // 24-byte nonce + 16-byte MAC
    std::optional<Bytes> opened = sealer.open(sealed);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, plain);
  }
  // A fresh nonce each time: the same plaintext seals differently.
  EXPECT_NE(sealer.seal(bytes_of("same")), sealer.seal(bytes_of("same")));
}

TEST_F(SecretsTest, TamperedOrShortCiphertextIsRejected) {
  Sealer sealer = Sealer::from_hex(kHexKey);
  Bytes sealed = sealer.seal(bytes_of("a face template"));
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes altered = sealed;
    altered[i] ^= 0x01;
    EXPECT_FALSE(sealer.open(altered).has_value()) << "byte " << i;
  }
  Bytes truncated(sealed.begin(), sealed.end() - 1);
  EXPECT_FALSE(sealer.open(truncated).has_value());
  EXPECT_FALSE(sealer.open(Bytes{}).has_value());
  EXPECT_FALSE(sealer.open(Bytes(39, 0)).has_value());
  EXPECT_FALSE(sealer.open(Bytes(40, 0)).has_value());
}

TEST_F(SecretsTest, WrongKeyIsRejected) {
  Sealer one = Sealer::from_hex(kHexKey);
  std::string other_hex = kHexKey;
  other_hex.back() = '0';
  Sealer other = Sealer::from_hex(other_hex);
  EXPECT_FALSE(other.open(one.seal(bytes_of("secret"))).has_value());
}

TEST_F(SecretsTest, FromHexRejectsBadKeys) {
  EXPECT_THROW(Sealer::from_hex(""), std::invalid_argument);
  EXPECT_THROW(Sealer::from_hex(kHexKey.substr(2)), std::invalid_argument);
  EXPECT_THROW(Sealer::from_hex(kHexKey + "00"), std::invalid_argument);
  std::string bad = kHexKey;
  bad[5] = 'g';
  EXPECT_THROW(Sealer::from_hex(bad), std::invalid_argument);
  std::string upper = kHexKey;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Sealer a = Sealer::from_hex(kHexKey);
  Sealer b = Sealer::from_hex(upper);
  EXPECT_TRUE(b.open(a.seal(bytes_of("same key"))).has_value());
}

TEST_F(SecretsTest, KeyFileIsCreatedPrivateAndReused) {
  fs::path path = dir_ / "seal.key";
  Sealer first = Sealer::from_file(path);
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(mode_of(path), 0600u);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(std::regex_match(content, std::regex("[0-9a-f]{64}\n")));
  Bytes sealed = first.seal(bytes_of("kept across restarts"));
  Sealer second = Sealer::from_file(path);
  std::optional<Bytes> opened = second.open(sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, bytes_of("kept across restarts"));
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(SecretsTest, KeyFileWithWrittenKeyIsUsed) {
  fs::path path = dir_ / "given.key";
  write_file(path, kHexKey + "\n", 0600);
  Bytes sealed = Sealer::from_hex(kHexKey).seal(bytes_of("x"));
  EXPECT_TRUE(Sealer::from_file(path).open(sealed).has_value());
  fs::path no_newline = dir_ / "no_newline.key";
  write_file(no_newline, kHexKey, 0400);
  EXPECT_TRUE(Sealer::from_file(no_newline).open(sealed).has_value());
}

TEST_F(SecretsTest, KeyFileRefusedWhenOthersCanReadIt) {
  fs::path path = dir_ / "open.key";
  write_file(path, kHexKey + "\n", 0644);
  EXPECT_THROW(Sealer::from_file(path), std::runtime_error);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_THROW(Sealer::from_file(path), std::runtime_error);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_NO_THROW(Sealer::from_file(path));
}

TEST_F(SecretsTest, KeyFileRefusedWithBadContent) {
  int n = 0;
  for (const std::string& content : {std::string(), std::string("short\n"), kHexKey + "\n\n", kHexKey + "00\n",
                                     std::string(64, 'z') + "\n", kHexKey.substr(0, 63) + "\n"}) {
    fs::path path = dir_ / ("bad" + std::to_string(n++) + ".key");
    write_file(path, content, 0600);
    EXPECT_THROW(Sealer::from_file(path), std::runtime_error) << content;
  }
  EXPECT_THROW(Sealer::from_file(dir_), std::runtime_error);  // a directory
}

TEST_F(SecretsTest, KeyFileInMissingDirectoryThrows) {
  EXPECT_THROW(Sealer::from_file(dir_ / "absent" / "seal.key"), std::runtime_error);
}

TEST_F(SecretsTest, FloatsBytesRoundTripLittleEndian) {
  std::vector<float> values = {0.0f, 1.0f, -2.5f, 3.14159f, 1e-30f, -0.0f};
  Bytes bytes = floats_to_bytes(values);
  ASSERT_EQ(bytes.size(), values.size() * 4);
  // 1.0f is 0x3F800000: little-endian bytes 00 00 80 3F.
  EXPECT_EQ(bytes[4], 0x00);
  EXPECT_EQ(bytes[5], 0x00);
  EXPECT_EQ(bytes[6], 0x80);
  EXPECT_EQ(bytes[7], 0x3F);
  std::vector<float> back = bytes_to_floats(bytes);
  ASSERT_EQ(back.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(std::memcmp(&back[i], &values[i], 4), 0);
  EXPECT_TRUE(bytes_to_floats(Bytes(7, 0)).empty());
  EXPECT_TRUE(bytes_to_floats(Bytes{}).empty());
  EXPECT_TRUE(floats_to_bytes({}).empty());
}

}  // namespace
}  // namespace faceauth
