// Converted models against the reference implementation (tfjs in Node.js): the outputs of
// OpenCV dnn and of the XNNPACK path on the ONNX files must match tests/golden/*.json, made
// by tools/reference/, within the same tolerances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_support.h"
#include "vision/nets/model_manifest.h"
#include "vision/nets/onnx_graph.h"
#include "vision/nets/xnn_net.h"

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

// max_abs is the largest |got - want| - rel * |want| (numpy's allclose: atol + rtol * |want|);
// rel is the tolerance's "rel", 0 when it has none.
Comparison compare(const cv::Mat& actual, const nlohmann::json& expected, double rel) {
  std::vector<float> want = expected.at("data").get<std::vector<float>>();
  EXPECT_EQ(actual.total(), want.size());
  Comparison result;
  double dot = 0, na = 0, nb = 0;
  const float* got = actual.ptr<float>();
  for (size_t i = 0; i < std::min(actual.total(), want.size()); ++i) {
    result.max_abs = std::max(result.max_abs, std::fabs(double{got[i]} - want[i]) - rel * std::fabs(want[i]));
    dot += double{got[i]} * want[i];
    na += double{got[i]} * got[i];
    nb += double{want[i]} * want[i];
  }
  result.cosine = dot / std::sqrt(na * nb + 1e-30);
  return result;
}

using Forward = std::function<std::vector<cv::Mat>(const cv::Mat& blob, const std::vector<std::string>& names)>;

// Every case of the golden file through `forward`, within the file's tolerances.
void check_cases(const nlohmann::json& golden, const ModelManifest& manifest, const Forward& forward) {
  const nlohmann::json& tolerance = golden.at("tolerance");
  for (const auto& item : golden.at("cases")) {
    SCOPED_TRACE(item.at("name").get<std::string>());
    std::string input = item.at("input");
    cv::Mat image = input == "pattern" ? pattern_image(manifest.input.width, manifest.input.height)
                                       : cv::imread((test::golden_dir() / input).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty());
    ASSERT_EQ(image.size(), cv::Size(manifest.input.width, manifest.input.height));
    std::vector<std::string> names;
    for (const auto& [name, value] : item.at("outputs").items()) names.push_back(name);
    std::vector<cv::Mat> outputs = forward(make_blob(image, manifest), names);
    ASSERT_EQ(outputs.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      Comparison c = compare(outputs[i], item.at("outputs").at(names[i]), tolerance.value("rel", 0.0));
      if (tolerance.contains("max_abs")) {
        EXPECT_LE(c.max_abs, tolerance["max_abs"].get<double>()) << names[i];
      }
      if (tolerance.contains("cosine")) {
        EXPECT_GE(c.cosine, tolerance["cosine"].get<double>()) << names[i];
      }
    }
  }
}

nlohmann::json read_golden(const std::string& name) {
  std::ifstream in(test::golden_dir() / (name + ".json"));
  return nlohmann::json::parse(in);
}

// The nets the default pipeline runs and the recognition nets: XNNPACK must take them.
bool xnnpack_required(const std::string& model) {
  static const std::set<std::string> required{"hm_blazeface", "hm_blazeface_front", "faceapi_landmark68",
                                              "faceapi_recognition"};
  return required.contains(model);
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, OpenCvMatchesReference) {
  nlohmann::json golden = read_golden(GetParam());
  ModelManifest manifest = load_manifest(test::model_dir(), golden.at("model"));
  cv::dnn::Net net = load_net(test::model_dir(), manifest);
  check_cases(golden, manifest, [&](const cv::Mat& blob, const std::vector<std::string>& names) {
    net.setInput(blob, manifest.input.name);
    std::vector<cv::Mat> outputs;
    net.forward(outputs, names);
    return outputs;
  });
}

TEST_P(Golden, XnnpackMatchesReference) {
  nlohmann::json golden = read_golden(GetParam());
  const std::string model = golden.at("model");
  ModelManifest manifest = load_manifest(test::model_dir(), model);
  if (manifest.raw.value("backend", "xnnpack") == "opencv")
    GTEST_SKIP() << model << ": its manifest keeps it on OpenCV";
  OnnxGraph graph = read_onnx(test::model_dir() / manifest.file);
  std::map<std::string, std::unique_ptr<XnnNet>> nets;  // by output list
  try {
    XnnNet probe(graph, manifest.input.name, 3, manifest.input.height, manifest.input.width, manifest.outputs);
  } catch (const OnnxError& e) {
    if (xnnpack_required(model)) FAIL() << model << ": " << e.what();
    GTEST_SKIP() << model << " runs on OpenCV (" << e.what() << ")";
  }
  check_cases(golden, manifest, [&](const cv::Mat& blob, const std::vector<std::string>& names) {
    std::string key;
    for (const std::string& name : names) key += name + "\n";
    auto& net = nets[key];
    if (!net)
      net = std::make_unique<XnnNet>(graph, manifest.input.name, 3, manifest.input.height, manifest.input.width, names);
    return net->forward(blob);
  });
}

// The recognition nets without a tfjs reference (dlib's and faceplugin's): XNNPACK against
// OpenCV on the pattern and on a face, with the recognition goldens' tolerance.
class SameAsOpenCv : public ::testing::TestWithParam<std::string> {};

TEST_P(SameAsOpenCv, XnnpackMatchesOpenCv) {
  ModelManifest manifest = load_manifest(test::model_dir(), GetParam());
  cv::dnn::Net net = load_net(test::model_dir(), manifest);
  XnnNet xnn(read_onnx(test::model_dir() / manifest.file), manifest.input.name, 3, manifest.input.height,
             manifest.input.width, manifest.outputs);
  const cv::Size size(manifest.input.width, manifest.input.height);
  cv::Mat face = cv::imread((test::golden_dir() / "faceapi_recognition.face.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(face.empty());
  cv::resize(face, face, size, 0, 0, cv::INTER_AREA);
  for (const cv::Mat& image : {pattern_image(size.width, size.height), face}) {
    cv::Mat blob = make_blob(image, manifest);
    net.setInput(blob, manifest.input.name);
    cv::Mat expected = net.forward(manifest.outputs.at(0));
    cv::Mat actual = xnn.forward(blob).at(0);
    ASSERT_EQ(actual.total(), expected.total());
    nlohmann::json want{{"data", std::vector<float>(expected.ptr<float>(), expected.ptr<float>() + expected.total())}};
    Comparison c = compare(actual, want, 0.0);
    EXPECT_GE(c.cosine, 0.99999);
  }
}

INSTANTIATE_TEST_SUITE_P(Recognition, SameAsOpenCv, ::testing::Values("dlib_recognition", "faceplugin_recognition"));

INSTANTIATE_TEST_SUITE_P(Models, Golden, ::testing::ValuesIn(golden_files()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
}  // namespace faceauth
