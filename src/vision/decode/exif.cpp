#include "vision/decode/exif.h"

#include <cstring>
#include <optional>

#include <opencv2/core.hpp>

namespace faceauth {
namespace {

// A bounds-checked view over the TIFF block inside the APP1 segment.
struct TiffReader {
  std::span<const uint8_t> data;
  bool little_endian = true;

  std::optional<uint16_t> u16(size_t at) const {
    if (at + 2 > data.size()) return std::nullopt;
    const uint8_t* p = data.data() + at;
    return little_endian ? static_cast<uint16_t>(p[0] | (p[1] << 8)) : static_cast<uint16_t>((p[0] << 8) | p[1]);
  }
  std::optional<uint32_t> u32(size_t at) const {
    if (at + 4 > data.size()) return std::nullopt;
    const uint8_t* p = data.data() + at;
    if (little_endian) {
      return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    }
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  }
};

int orientation_from_tiff(std::span<const uint8_t> tiff) {
  if (tiff.size() < 8) return 1;
  TiffReader reader{tiff, true};
  if (tiff[0] == 'M' && tiff[1] == 'M') {
    reader.little_endian = false;
  } else if (!(tiff[0] == 'I' && tiff[1] == 'I')) {
    return 1;
  }
  auto ifd = reader.u32(4);
  if (!ifd) return 1;
  auto count = reader.u16(*ifd);
  if (!count) return 1;
  for (uint32_t i = 0; i < *count; ++i) {
    size_t entry = size_t{*ifd} + 2 + size_t{i} * 12;
    auto tag = reader.u16(entry);
    if (!tag) return 1;
    if (*tag != 0x0112) continue;
    auto value = reader.u16(entry + 8);
    if (!value || *value < 1 || *value > 8) return 1;
    return *value;
  }
  return 1;
}

}  // namespace

int jpeg_exif_orientation(std::span<const uint8_t> jpeg) {
  if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
  size_t at = 2;
  while (at + 4 <= jpeg.size()) {
    if (jpeg[at] != 0xFF) return 1;
    uint8_t marker = jpeg[at + 1];
    if (marker == 0xD9 || marker == 0xDA) return 1;  // end of image or start of scan
    size_t length = (size_t{jpeg[at + 2]} << 8) | jpeg[at + 3];
    if (length < 2 || at + 2 + length > jpeg.size()) return 1;
    auto payload = jpeg.subspan(at + 4, length - 2);
    if (marker == 0xE1 && payload.size() >= 6 && std::memcmp(payload.data(), "Exif\0\0", 6) == 0) {
      return orientation_from_tiff(payload.subspan(6));
    }
    at += 2 + length;
  }
  return 1;
}

cv::Mat apply_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      return out;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      return out;
    case 4:
      cv::flip(image, out, 0);
      return out;
    case 5:
      cv::transpose(image, out);
      return out;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(image, out);
      cv::flip(out, out, -1);
      return out;
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return image;
  }
}

}  // namespace faceauth
