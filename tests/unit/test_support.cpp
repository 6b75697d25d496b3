#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>

#include "vision/nets/model_manifest.h"

namespace faceauth::test {

std::filesystem::path model_dir() { return default_model_dir(); }

std::filesystem::path golden_dir() { return std::filesystem::path(FACEAUTH_SOURCE_DIR) / "tests" / "golden"; }

std::filesystem::path demo_photo(const std::string& name) {
  return model_dir().parent_path() / "npm" / "face-api" / "package" / "demo" / name;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> encode(const cv::Mat& image, const std::string& ext, int jpeg_quality) {
  std::vector<uint8_t> bytes;
  cv::imencode(ext, image, bytes, {cv::IMWRITE_JPEG_QUALITY, jpeg_quality});
  return bytes;
}

std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation, bool big_endian) {
  auto u16 = [&](std::vector<uint8_t>& out, int v) {
    if (big_endian) {
      out.push_back(static_cast<uint8_t>(v >> 8));
      out.push_back(static_cast<uint8_t>(v));
    } else {
      out.push_back(static_cast<uint8_t>(v));
      out.push_back(static_cast<uint8_t>(v >> 8));
    }
  };
  auto u32 = [&](std::vector<uint8_t>& out, int v) {
    if (big_endian) {
      u16(out, v >> 16);
      u16(out, v & 0xFFFF);
    } else {
      u16(out, v & 0xFFFF);
      u16(out, v >> 16);
    }
  };
  std::vector<uint8_t> tiff;
  tiff.reserve(64);
  tiff.push_back(big_endian ? 'M' : 'I');
  tiff.push_back(big_endian ? 'M' : 'I');
  u16(tiff, 42);
  u32(tiff, 8);            // IFD0 offset
  u16(tiff, 1);            // one entry
  u16(tiff, 0x0112);       // orientation
  u16(tiff, 3);            // SHORT
  u32(tiff, 1);            // count
  u16(tiff, orientation);  // value, left-justified in the 4-byte field
  u16(tiff, 0);
  u32(tiff, 0);  // no next IFD
  size_t length = 2 + 6 + tiff.size();
  std::vector<uint8_t> out;
  out.reserve(jpeg.size() + length + 2);
  for (uint8_t byte : {uint8_t{0xFF}, uint8_t{0xD8}, uint8_t{0xFF}, uint8_t{0xE1}}) out.push_back(byte);
  out.push_back(static_cast<uint8_t>(length >> 8));
  out.push_back(static_cast<uint8_t>(length));
  for (char c : std::string("Exif\0\0", 6)) out.push_back(static_cast<uint8_t>(c));
  for (uint8_t byte : tiff) out.push_back(byte);
  for (size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
  return out;
}

}  // namespace faceauth::test
