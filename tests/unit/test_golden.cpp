// Converted models against the reference implementation (tfjs in Node.js): the outputs of
// OpenCV dnn on the ONNX files must match tests/golden/*.json, made by tools/reference/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "test_support.h"
#include "vision/model_manifest.h"

namespace faceauth {
namespace {

std::vector<std::string> golden_files() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(test::golden_dir())) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// v(y, x, c) = (x*7 + y*13 + c*29 + (x*y) % 17) % 256 in RGB; returned as BGR.
cv::Mat pattern_image(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      cv::Vec3b& px = image.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) px[2 - c] = static_cast<uint8_t>((x * 7 + y * 13 + c * 29 + (x * y) % 17) % 256);
    }
  }
  return image;
}

struct Comparison {
  double max_abs = 0, cosine = 0;
};

Comparison compare(const cv::Mat& actual, const nlohmann::json& expected) {
  std::vector<float> want = expected.at("data").get<std::vector<float>>();
  EXPECT_EQ(actual.total(), want.size());
  Comparison result;
  double dot = 0, na = 0, nb = 0;
  const float* got = actual.ptr<float>();
  for (size_t i = 0; i < std::min(actual.total(), want.size()); ++i) {
    result.max_abs = std::max(result.max_abs, double{std::fabs(got[i] - want[i])});
    dot += double{got[i]} * want[i];
    na += double{got[i]} * got[i];
    nb += double{want[i]} * want[i];
  }
  result.cosine = dot / std::sqrt(na * nb + 1e-30);
  return result;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, OpenCvMatchesReference) {
  std::ifstream in(test::golden_dir() / (GetParam() + ".json"));
  nlohmann::json golden = nlohmann::json::parse(in);
  ModelManifest manifest = load_manifest(test::model_dir(), golden.at("model"));
  cv::dnn::Net net = load_net(test::model_dir(), manifest);
  const nlohmann::json& tolerance = golden.at("tolerance");
  for (const auto& item : golden.at("cases")) {
    SCOPED_TRACE(item.at("name").get<std::string>());
    std::string input = item.at("input");
    cv::Mat image = input == "pattern" ? pattern_image(manifest.input.width, manifest.input.height)
                                       : cv::imread((test::golden_dir() / input).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty());
    ASSERT_EQ(image.size(), cv::Size(manifest.input.width, manifest.input.height));
    net.setInput(make_blob(image, manifest), manifest.input.name);
    std::vector<std::string> names;
    for (const auto& [name, value] : item.at("outputs").items()) names.push_back(name);
    std::vector<cv::Mat> outputs;
    net.forward(outputs, names);
    for (size_t i = 0; i < names.size(); ++i) {
      Comparison c = compare(outputs[i], item.at("outputs").at(names[i]));
      if (tolerance.contains("max_abs")) {
        EXPECT_LE(c.max_abs, tolerance["max_abs"].get<double>()) << names[i];
      }
      if (tolerance.contains("cosine")) {
        EXPECT_GE(c.cosine, tolerance["cosine"].get<double>()) << names[i];
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Golden, ::testing::ValuesIn(golden_files()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
}  // namespace faceauth
