// libFuzzer target: the EXIF orientation reader walks JPEG segments and TIFF offsets taken
// from user bytes; any input must give 1..8 and never read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vision/decode/exif.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int orientation = faceauth::jpeg_exif_orientation(std::span<const uint8_t>(data, size));
  if (orientation < 1 || orientation > 8) __builtin_trap();
  return 0;
}
