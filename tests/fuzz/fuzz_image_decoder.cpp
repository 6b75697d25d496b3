// libFuzzer target: any bytes through the image decoder (sniffing, header sizes, EXIF,
// libjpeg-turbo, OpenCV codecs) must give an image or a typed error, never a crash.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vision/decode/image_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  faceauth::DecodeLimits limits;
  limits.max_pixels = 4'000'000;  // keeps each run fast; the checks are the same
  auto result = faceauth::decode_image(std::span<const uint8_t>(data, size), limits);
  if (result.ok() && (result->bgr.empty() || result->bgr.type() != CV_8UC3)) __builtin_trap();
  return 0;
}
