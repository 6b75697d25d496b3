#include "vision/landmarker.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace faceauth {
namespace {

// The pixels of `square` (zeros where it leaves the image), resized to size x size.
cv::Mat square_crop(const cv::Mat& image, const cv::Rect& square, int size) {
  cv::Mat padded = cv::Mat::zeros(square.size(), image.type());
  cv::Rect inside = square & cv::Rect(0, 0, image.cols, image.rows);
  if (inside.area() > 0) image(inside).copyTo(padded(inside - square.tl()));
  cv::Mat out;
  int interpolation = square.width > size ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(padded, out, cv::Size(size, size), 0, 0, interpolation);
  return out;
}

}  // namespace

Landmarker::Landmarker(const std::filesystem::path& model_dir, const std::string& model_name)
    : manifest_(load_manifest(model_dir, model_name)), net_(load_net(model_dir, manifest_)) {}

Landmarks68 Landmarker::locate(const cv::Mat& bgr, const cv::Rect2f& box) {
  // face-api feeds the detection box padded to a square around its centre (zeros outside the
  // image) and resized to the input size; the net answers in [0,1] of that square.
  double side = std::max(box.width, box.height) * manifest_.raw.value("box_scale", 1.0);
  int square_side = std::max(1, cvRound(side));
  cv::Rect square(cvRound(box.x + box.width / 2.0 - square_side / 2.0),
                  cvRound(box.y + box.height / 2.0 - square_side / 2.0), square_side, square_side);
  cv::Mat crop = square_crop(bgr, square, manifest_.input.width);
  net_.setInput(make_blob(crop, manifest_), manifest_.input.name);
  cv::Mat out = net_.forward(manifest_.outputs.at(0));
  const float* values = out.ptr<float>();
  Landmarks68 points;
  for (size_t i = 0; i < points.size(); ++i) {
    double x = square.x + double{values[2 * i]} * square_side;
    double y = square.y + double{values[2 * i + 1]} * square_side;
    points[i] = cv::Point2f(static_cast<float>(x), static_cast<float>(y));
  }
  return points;
}

}  // namespace faceauth
