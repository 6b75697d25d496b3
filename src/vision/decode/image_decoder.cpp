#include "vision/decode/image_decoder.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/decode/exif.h"

namespace faceauth {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint32_t le24(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

bool starts_with(std::span<const uint8_t> bytes, size_t at, std::string_view magic) {
  return bytes.size() >= at + magic.size() && std::memcmp(bytes.data() + at, magic.data(), magic.size()) == 0;
}

bool png_size(std::span<const uint8_t> b, int& w, int& h) {
  if (b.size() < 24 || !starts_with(b, 12, "IHDR")) return false;
  uint32_t width = be32(b.data() + 16), height = be32(b.data() + 20);
  if (width > INT32_MAX || height > INT32_MAX) return false;
  w = static_cast<int>(width);
  h = static_cast<int>(height);
  return true;
}

bool webp_size(std::span<const uint8_t> b, int& w, int& h) {
  if (b.size() < 30) return false;
  const uint8_t* p = b.data();
  if (starts_with(b, 12, "VP8X")) {
    w = static_cast<int>(le24(p + 24) + 1);
    h = static_cast<int>(le24(p + 27) + 1);
    return true;
  }
  if (starts_with(b, 12, "VP8L")) {
    if (p[20] != 0x2f) return false;
    uint32_t bits = le32(p + 21);
    w = static_cast<int>((bits & 0x3FFF) + 1);
    h = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
    return true;
  }
  if (starts_with(b, 12, "VP8 ")) {
    if (p[23] != 0x9d || p[24] != 0x01 || p[25] != 0x2a) return false;
    w = le16(p + 26) & 0x3FFF;
    h = le16(p + 28) & 0x3FFF;
    return true;
  }
  return false;
}

bool bmp_size(std::span<const uint8_t> b, int& w, int& h) {
  if (b.size() < 26) return false;
  auto width = static_cast<int32_t>(le32(b.data() + 18));
  auto height = static_cast<int32_t>(le32(b.data() + 22));
  if (width == INT32_MIN || height == INT32_MIN) return false;
  w = std::abs(width);
  h = std::abs(height);
  return true;
}

struct TjDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

// The smallest libjpeg-turbo scaling factor whose output still has a long side of at least
// `target` pixels (or 1/1 when the image is already small).
tjscalingfactor pick_jpeg_scale(int width, int height, int target) {
  int count = 0;
  tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor best{1, 1};
  int long_side = std::max(width, height);
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor& f = factors[i];
    if (f.num > f.denom) continue;
    int scaled = TJSCALED(long_side, f);
    int best_scaled = TJSCALED(long_side, best);
    if (scaled >= target && scaled < best_scaled) best = f;
  }
  return best;
}

// CMYK as print workflows (Adobe) store it and libjpeg-turbo hands it over: inverted, 255 =
// no ink. YCCK files decode to the same CMYK. R = C * K / 255 (and G from M, B from Y).
cv::Mat cmyk_to_bgr(const cv::Mat& cmyk) {
  cv::Mat bgr(cmyk.rows, cmyk.cols, CV_8UC3);
  for (int y = 0; y < cmyk.rows; ++y) {
    const uint8_t* in = cmyk.ptr<uint8_t>(y);
    uint8_t* out = bgr.ptr<uint8_t>(y);
    for (int x = 0; x < cmyk.cols; ++x, in += 4, out += 3) {
      const int k = in[3];
      out[0] = static_cast<uint8_t>((in[2] * k + 127) / 255);
      out[1] = static_cast<uint8_t>((in[1] * k + 127) / 255);
      out[2] = static_cast<uint8_t>((in[0] * k + 127) / 255);
    }
  }
  return bgr;
}

Result<cv::Mat> decode_jpeg(std::span<const uint8_t> bytes, int width, int height, int target) {
  TjHandle handle(tjInitDecompress());
  if (!handle) return make_error(ErrorCode::detection_server_error, "JPEG decoder unavailable");
  int header_width = 0, header_height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &header_width,
                          &header_height, &subsampling, &colorspace) != 0) {
    return make_error(ErrorCode::image_converting_error, "the image header is invalid");
  }
  // libjpeg-turbo cannot convert CMYK or YCCK (ID scans, print files) to BGR itself.
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  tjscalingfactor scale = pick_jpeg_scale(width, height, target);
  cv::Mat out(TJSCALED(height, scale), TJSCALED(width, scale), cmyk ? CV_8UC4 : CV_8UC3);
  int rc = tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), out.data, out.cols,
                         static_cast<int>(out.step), out.rows, cmyk ? TJPF_CMYK : TJPF_BGR, TJFLAG_FASTDCT);
  if (rc != 0) {
    bool fatal = tjGetErrorCode(handle.get()) == TJERR_FATAL;
    std::string_view text = tjGetErrorStr2(handle.get());
    // Warnings are tolerated (many cameras write slightly odd files) except a truncated file,
    // whose missing rows would be grey.
    if (fatal || text.find("Premature end") != std::string_view::npos) {
      return make_error(ErrorCode::image_converting_error, "the JPEG data is corrupt or truncated");
    }
  }
  return cmyk ? cmyk_to_bgr(out) : out;
}

Result<cv::Mat> decode_with_opencv(std::span<const uint8_t> bytes) {
  cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
  cv::Mat out;
  try {
    out = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    out.release();
  }
  if (out.empty()) return make_error(ErrorCode::image_converting_error, "the image data could not be decoded");
  return out;
}

Error check_size(int width, int height, const DecodeLimits& limits, bool& ok) {
  ok = false;
  if (width <= 0 || height <= 0) return make_error(ErrorCode::image_converting_error, "the image header is invalid");
  if (width > limits.max_side || height > limits.max_side || int64_t{width} * height > limits.max_pixels) {
    return make_error(ErrorCode::image_too_large, "the image has more pixels than allowed");
  }
  ok = true;
  return {};
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg:
      return "jpeg";
    case ImageFormat::png:
      return "png";
    case ImageFormat::webp:
      return "webp";
    case ImageFormat::bmp:
      return "bmp";
    case ImageFormat::unknown:
      break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(std::span<const uint8_t> bytes) {
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1a\n")) return ImageFormat::png;
  if (starts_with(bytes, 0, "RIFF") && starts_with(bytes, 8, "WEBP")) return ImageFormat::webp;
  if (starts_with(bytes, 0, "BM") && bytes.size() >= 26) return ImageFormat::bmp;
  return ImageFormat::unknown;
}

bool read_image_size(std::span<const uint8_t> bytes, ImageFormat format, int& width, int& height) {
  switch (format) {
    case ImageFormat::jpeg: {
      TjHandle handle(tjInitDecompress());
      int subsampling = 0, colorspace = 0;
      return handle && tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width,
                                           &height, &subsampling, &colorspace) == 0;
    }
    case ImageFormat::png:
      return png_size(bytes, width, height);
    case ImageFormat::webp:
      return webp_size(bytes, width, height);
    case ImageFormat::bmp:
      return bmp_size(bytes, width, height);
    case ImageFormat::unknown:
      break;
  }
  return false;
}

Result<DecodedImage> decode_image(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_bytes) return make_error(ErrorCode::image_too_large, "the image file is too large");
  DecodedImage image;
  image.format = sniff_image_format(bytes);
  if (image.format == ImageFormat::unknown) {
    return make_error(ErrorCode::image_converting_error, "not a JPEG, PNG, WebP or BMP image");
  }
  if (!read_image_size(bytes, image.format, image.source_width, image.source_height)) {
    return make_error(ErrorCode::image_converting_error, "the image header is invalid");
  }
  bool size_ok = false;
  Error size_error = check_size(image.source_width, image.source_height, limits, size_ok);
  if (!size_ok) return size_error;
  Result<cv::Mat> pixels = image.format == ImageFormat::jpeg
                               ? decode_jpeg(bytes, image.source_width, image.source_height, limits.working_long_side)
                               : decode_with_opencv(bytes);
  if (!pixels) return pixels.error();
  if (image.format == ImageFormat::jpeg) image.orientation = jpeg_exif_orientation(bytes);
  cv::Mat upright = apply_orientation(*pixels, image.orientation);
  image.scale = static_cast<double>(pixels->cols) / image.source_width;
  int long_side = std::max(upright.cols, upright.rows);
  if (long_side > limits.working_long_side) {
    double factor = static_cast<double>(limits.working_long_side) / long_side;
    cv::resize(upright, upright, cv::Size(), factor, factor, cv::INTER_AREA);
    image.scale *= factor;
  }
  if (std::min(upright.cols, upright.rows) < limits.min_side) {
    return make_error(ErrorCode::image_processing_error, "the image is smaller than the minimum size");
  }
  image.bgr = upright;
  return image;
}

}  // namespace faceauth
