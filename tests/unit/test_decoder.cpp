#include <gtest/gtest.h>

#include <string>

#include <opencv2/imgproc.hpp>

#include "test_support.h"
#include "vision/image_decoder.h"

namespace faceauth {
namespace {

cv::Mat gradient(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(x * 255 / width), static_cast<uint8_t>(y * 255 / height), 128);
    }
  }
  return image;
}

ErrorCode decode_error(const std::vector<uint8_t>& bytes, const DecodeLimits& limits = {}) {
  auto result = decode_image(bytes, limits);
  EXPECT_FALSE(result.ok());
  return result.ok() ? ErrorCode::detection_server_error : result.error().code;
}

TEST(Decoder, SniffsFormatsFromBytes) {
  cv::Mat image = gradient(64, 48);
  EXPECT_EQ(sniff_image_format(test::encode(image, ".jpg")), ImageFormat::jpeg);
  EXPECT_EQ(sniff_image_format(test::encode(image, ".png")), ImageFormat::png);
  EXPECT_EQ(sniff_image_format(test::encode(image, ".webp")), ImageFormat::webp);
  EXPECT_EQ(sniff_image_format(test::encode(image, ".bmp")), ImageFormat::bmp);
  std::string text = "hello, this is not an image";
  EXPECT_EQ(sniff_image_format(std::vector<uint8_t>(text.begin(), text.end())), ImageFormat::unknown);
}

TEST(Decoder, DecodesEveryFormatWithItsSize) {
  cv::Mat image = gradient(64, 48);
  for (std::string ext : {".jpg", ".png", ".webp", ".bmp"}) {
    auto result = decode_image(test::encode(image, ext), {});
    ASSERT_TRUE(result.ok()) << ext;
    EXPECT_EQ(result->bgr.size(), image.size()) << ext;
    EXPECT_EQ(result->source_width, 64) << ext;
    EXPECT_EQ(result->source_height, 48) << ext;
    EXPECT_LT(cv::norm(result->bgr, image, cv::NORM_INF), 40) << ext;
  }
}

TEST(Decoder, LargeJpegIsDecodedAtReducedScale) {
  auto result = decode_image(test::encode(gradient(4000, 3000), ".jpg"), {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->bgr.cols, 1280);
  EXPECT_EQ(result->bgr.rows, 960);
  EXPECT_DOUBLE_EQ(result->scale, 0.32);
}

TEST(Decoder, AppliesExifOrientation) {
  cv::Mat image = gradient(64, 48);
  auto jpeg = test::encode(image, ".jpg");
  auto result = decode_image(test::with_exif_orientation(jpeg, 6, false), {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->orientation, 6);
  EXPECT_EQ(result->bgr.size(), cv::Size(48, 64));
}

TEST(Decoder, TruncatedJpegIsAConvertingError) {
  auto jpeg = test::encode(gradient(640, 480), ".jpg");
  jpeg.resize(jpeg.size() / 2);
  EXPECT_EQ(decode_error(jpeg), ErrorCode::image_converting_error);
}

TEST(Decoder, TextAndEmptyInputAreConvertingErrors) {
  std::string text = "aGVsbG8gd29ybGQ= this is base64 text, not an image";
  EXPECT_EQ(decode_error(std::vector<uint8_t>(text.begin(), text.end())), ErrorCode::image_converting_error);
  EXPECT_EQ(decode_error({}), ErrorCode::image_converting_error);
}

TEST(Decoder, PngClaimingHugeSizeIsTooLargeBeforeDecoding) {
  auto png = test::encode(gradient(64, 48), ".png");
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put(16, 100000);
  put(20, 100000);
  EXPECT_EQ(decode_error(png), ErrorCode::image_too_large);
}

TEST(Decoder, CorruptPngBodyIsAConvertingError) {
  auto png = test::encode(gradient(64, 48), ".png");
  for (size_t i = 40; i < png.size() - 12; ++i) png[i] = static_cast<uint8_t>(i * 31);
  EXPECT_EQ(decode_error(png), ErrorCode::image_converting_error);
}

TEST(Decoder, ByteAndSizeLimits) {
  DecodeLimits limits;
  limits.max_bytes = 100;
  EXPECT_EQ(decode_error(test::encode(gradient(64, 48), ".png"), limits), ErrorCode::image_too_large);
  EXPECT_EQ(decode_error(test::encode(gradient(20, 20), ".png")), ErrorCode::image_processing_error);
}

}  // namespace
}  // namespace faceauth
