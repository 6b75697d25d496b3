#pragma once
// Shared helpers of the unit tests: where models and fixtures are, image bytes made in code.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceauth::test {

std::filesystem::path model_dir();
std::filesystem::path golden_dir();
// A photo shipped in the face-api npm package's demo/ folder (unpacked by set-up).
std::filesystem::path demo_photo(const std::string& name);
std::vector<uint8_t> read_file(const std::filesystem::path& path);
std::vector<uint8_t> encode(const cv::Mat& image, const std::string& ext, int jpeg_quality = 95);
// A JPEG with an EXIF APP1 segment whose IFD0 holds one orientation entry.
std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation, bool big_endian);

}  // namespace faceauth::test
