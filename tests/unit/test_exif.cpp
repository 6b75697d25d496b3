#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "test_support.h"
#include "vision/decode/exif.h"

namespace faceauth {
namespace {

std::vector<uint8_t> small_jpeg() {
  cv::Mat image(40, 60, CV_8UC3, cv::Scalar(10, 120, 200));
  return test::encode(image, ".jpg");
}

TEST(Exif, ReadsOrientationInBothByteOrders) {
  for (int orientation = 1; orientation <= 8; ++orientation) {
    EXPECT_EQ(jpeg_exif_orientation(test::with_exif_orientation(small_jpeg(), orientation, false)), orientation);
    EXPECT_EQ(jpeg_exif_orientation(test::with_exif_orientation(small_jpeg(), orientation, true)), orientation);
  }
}

TEST(Exif, AbsentOrMalformedMeansUpright) {
  EXPECT_EQ(jpeg_exif_orientation(small_jpeg()), 1);
  auto bytes = test::with_exif_orientation(small_jpeg(), 6, false);
  EXPECT_EQ(jpeg_exif_orientation(std::span(bytes).first(20)), 1);  // cut inside the segment
  bytes[4] = 0xFF;                                                  // segment length larger than the file
  EXPECT_EQ(jpeg_exif_orientation(bytes), 1);
  auto invalid = test::with_exif_orientation(small_jpeg(), 9, false);
  EXPECT_EQ(jpeg_exif_orientation(invalid), 1);
  std::vector<uint8_t> empty;
  EXPECT_EQ(jpeg_exif_orientation(empty), 1);
}

TEST(Exif, ApplyOrientationTurnsPixels) {
  cv::Mat image(2, 3, CV_8UC1);
  for (int i = 0; i < 6; ++i) image.data[i] = static_cast<uint8_t>(i);
  cv::Mat rotated = apply_orientation(image, 6);  // stored rotated 90 degrees counter-clockwise
  ASSERT_EQ(rotated.size(), cv::Size(2, 3));
  EXPECT_EQ(rotated.at<uint8_t>(0, 0), 3);  // bottom-left of the source becomes top-left
  EXPECT_EQ(rotated.at<uint8_t>(0, 1), 0);
  EXPECT_EQ(apply_orientation(image, 3).at<uint8_t>(0, 0), 5);
  EXPECT_EQ(apply_orientation(image, 2).at<uint8_t>(0, 0), 2);
  EXPECT_EQ(apply_orientation(image, 1).at<uint8_t>(0, 0), 0);
}

}  // namespace
}  // namespace faceauth
