#pragma once
// Reads the EXIF orientation tag (0x0112) of a JPEG, bounds-checked on every read: the bytes
// come from users. Returns 1 (no transform) when absent or malformed.

#include <cstdint>
#include <span>

#include <opencv2/core.hpp>

namespace faceauth {

// Orientation 1..8 as in the EXIF/TIFF specification.
int jpeg_exif_orientation(std::span<const uint8_t> jpeg);

// Applies an EXIF orientation to decoded pixels so the result is upright.
cv::Mat apply_orientation(const cv::Mat& image, int orientation);

}  // namespace faceauth
