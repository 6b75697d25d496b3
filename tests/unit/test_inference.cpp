// The inference backends: XNNPACK where its builder takes the graph, OpenCV's dnn otherwise
// or when asked; both give the same outputs; the ONNX reader refuses malformed files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "test_support.h"
#include "vision/nets/inference.h"
#include "vision/nets/onnx_graph.h"

namespace faceauth {
namespace {

cv::Mat ramp_blob(const ModelManifest& manifest) {
  cv::Mat image(manifest.input.height, manifest.input.width, CV_8UC3);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x)
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 3), uint8_t(y * 5), uint8_t(x + y));
  return make_blob(image, manifest);
}

class BackendEnv : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("FACEAUTH_BACKEND"); }
};

TEST_F(BackendEnv, XnnpackByDefaultOpenCvWhenAskedSameOutputs) {
  unsetenv("FACEAUTH_BACKEND");
  ModelManifest manifest = load_manifest(test::model_dir(), "faceapi_landmark68");
  InferenceNet fast(test::model_dir(), manifest);
  EXPECT_EQ(fast.backend(), Backend::xnnpack) << fast.fallback_reason();
  setenv("FACEAUTH_BACKEND", "opencv", 1);
  InferenceNet slow(test::model_dir(), manifest);
  EXPECT_EQ(slow.backend(), Backend::opencv);
  cv::Mat blob = ramp_blob(manifest);
  cv::Mat a = fast.forward_first(blob), b = slow.forward_first(blob);
  ASSERT_EQ(a.total(), b.total());
  EXPECT_LE(cv::norm(a, b, cv::NORM_INF), 1e-4);
}

TEST_F(BackendEnv, UnknownBackendNameIsRefused) {
  setenv("FACEAUTH_BACKEND", "gpu", 1);
  ModelManifest manifest = load_manifest(test::model_dir(), "faceapi_landmark68");
  EXPECT_THROW(InferenceNet(test::model_dir(), manifest), std::runtime_error);
}

TEST_F(BackendEnv, GraphWithAnUnknownOperatorFallsBackToOpenCv) {
  unsetenv("FACEAUTH_BACKEND");
  ModelManifest manifest = load_manifest(test::model_dir(), "hm_liveness");  // has Mul
  InferenceNet net(test::model_dir(), manifest);
  EXPECT_EQ(net.backend(), Backend::opencv);
  EXPECT_NE(net.fallback_reason().find("Mul"), std::string::npos) << net.fallback_reason();
  EXPECT_FALSE(net.forward(ramp_blob(manifest)).at(0).empty());
}

TEST_F(BackendEnv, ManifestCanKeepAModelOnOpenCv) {
  unsetenv("FACEAUTH_BACKEND");
  ModelManifest manifest = load_manifest(test::model_dir(), "faceapi_landmark68");
  manifest.raw["backend"] = "opencv";
  EXPECT_EQ(InferenceNet(test::model_dir(), manifest).backend(), Backend::opencv);
}

TEST(OnnxReader, MalformedFilesThrow) {
  EXPECT_THROW(parse_onnx(std::string("\x3a\xff\xff\xff\xff\x0f", 6)), OnnxError);  // graph longer than the file
  EXPECT_THROW(parse_onnx(std::string("\x08", 1)), OnnxError);                      // truncated varint
  EXPECT_THROW(parse_onnx(std::string()), OnnxError);                               // no graph
}

TEST(OnnxReader, ReadsTheConvertedLandmarkNet) {
  ModelManifest manifest = load_manifest(test::model_dir(), "faceapi_landmark68");
  OnnxGraph graph = read_onnx(test::model_dir() / manifest.file);
  ASSERT_EQ(graph.inputs, std::vector<std::string>{"input"});
  EXPECT_EQ(graph.outputs, std::vector<std::string>{"landmarks"});
  size_t convs = 0;
  for (const OnnxNode& node : graph.nodes) convs += node.op_type == "Conv";
  EXPECT_EQ(convs, 31u);
  const OnnxTensor& fc = graph.initializers.at("fc_w_122");
  EXPECT_EQ(fc.dims, (std::vector<int64_t>{136, 256}));
  EXPECT_EQ(fc.floats.size(), 136u * 256u);
}

}  // namespace
}  // namespace faceauth
