#pragma once
// Turns uploaded bytes into an upright BGR image. The format is sniffed from the bytes (never
// from a file name or content type); sizes are checked from the header before any pixel is
// decoded, so a decompression bomb costs nothing.

#include <cstdint>
#include <span>
#include <string>

#include <opencv2/core.hpp>

#include "vision/error.h"

namespace faceauth {

enum class ImageFormat { unknown, jpeg, png, webp, bmp };

const char* image_format_name(ImageFormat format);
ImageFormat sniff_image_format(std::span<const uint8_t> bytes);

struct DecodeLimits {
  size_t max_bytes = 15 * 1024 * 1024;  // larger uploads: image_too_large
  int64_t max_pixels = 40'000'000;      // declared width*height above this: image_too_large
  int max_side = 20'000;                // either declared side above this: image_too_large
  int min_side = 32;                    // decoded side below this: image_processing_error
  int working_long_side = 1280;         // decoded images are reduced to at most this
};

struct DecodedImage {
  cv::Mat bgr;  // 8-bit, 3 channels, upright (EXIF orientation applied)
  ImageFormat format = ImageFormat::unknown;
  int source_width = 0;  // as declared by the file, before orientation and scaling
  int source_height = 0;
  int orientation = 1;  // EXIF orientation that was applied (JPEG only)
  double scale = 1.0;   // working pixels per source pixel
};

// Reads width and height from the header of a sniffed format; false when malformed.
bool read_image_size(std::span<const uint8_t> bytes, ImageFormat format, int& width, int& height);

Result<DecodedImage> decode_image(std::span<const uint8_t> bytes, const DecodeLimits& limits);

}  // namespace faceauth
