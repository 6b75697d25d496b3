#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <algorithm>
#include <string>

#include <opencv2/imgproc.hpp>

#include "test_support.h"
#include "vision/decode/image_decoder.h"

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

// A CMYK JPEG as print workflows write it (inverted CMYK, 255 = no ink, the convention of
// libjpeg-turbo's own RGB-to-CMYK conversion): libjpeg-turbo stores it as YCCK.
std::vector<uint8_t> cmyk_jpeg(const cv::Mat& bgr) {
  std::vector<uint8_t> cmyk(bgr.total() * 4);
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      double r = 1 - p[2] / 255.0, g = 1 - p[1] / 255.0, b = 1 - p[0] / 255.0;
      double k = std::min({r, g, b});
      double c = k < 1 ? (r - k) / (1 - k) : 0, m = k < 1 ? (g - k) / (1 - k) : 0, ye = k < 1 ? (b - k) / (1 - k) : 0;
      uint8_t* out = &cmyk[(static_cast<size_t>(y) * bgr.cols + x) * 4];
      out[0] = static_cast<uint8_t>(255 - c * 255 + 0.5);
      out[1] = static_cast<uint8_t>(255 - m * 255 + 0.5);
      out[2] = static_cast<uint8_t>(255 - ye * 255 + 0.5);
      out[3] = static_cast<uint8_t>(255 - k * 255 + 0.5);
    }
  }
  tjhandle handle = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  int rc = tjCompress2(handle, cmyk.data(), bgr.cols, 0, bgr.rows, TJPF_CMYK, &jpeg, &size, TJSAMP_444, 95, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::vector<uint8_t> bytes(jpeg, jpeg + size);
  tjFree(jpeg);
  tjDestroy(handle);
  return bytes;
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

TEST(Decoder, CmykJpegIsDecodedToItsColours) {
  cv::Mat image = gradient(96, 64);
  std::vector<uint8_t> jpeg = cmyk_jpeg(image);
  tjhandle handle = tjInitDecompress();
  int width = 0, height = 0, subsampling = 0, colorspace = -1;
  ASSERT_EQ(tjDecompressHeader3(handle, jpeg.data(), jpeg.size(), &width, &height, &subsampling, &colorspace), 0);
  tjDestroy(handle);
  EXPECT_TRUE(colorspace == TJCS_YCCK || colorspace == TJCS_CMYK) << colorspace;
  auto decoded = decode_image(jpeg, DecodeLimits{});
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->bgr.size(), image.size());
  ASSERT_EQ(decoded->bgr.type(), CV_8UC3);
  cv::Mat diff;
  cv::absdiff(decoded->bgr, image, diff);
  cv::Scalar mean = cv::mean(diff);
  for (int c = 0; c < 3; ++c) EXPECT_LT(mean[c], 4.0) << "channel " << c;  // JPEG loss only
  // Not washed out or inverted: the dark and the bright corner keep their colours.
  const cv::Vec3b dark = decoded->bgr.at<cv::Vec3b>(0, 0), bright = decoded->bgr.at<cv::Vec3b>(63, 95);
  EXPECT_LT(dark[0], 30);
  EXPECT_GT(bright[0], 220);
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
