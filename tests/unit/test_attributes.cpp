// Attribute heads on fixtures made in code from the face-api demo photos: a mask polygon drawn
// from the landmarks scores as face cover and occlusion, the untouched face as neither;
// with a mask required, the mask is no occlusion but sunglasses are; the head arithmetic, and
// heads of another feature pipeline refused at load.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "crypto/secrets.h"  // random_hex_id
#include "test_support.h"
#include "vision/checks/attributes.h"
#include "vision/face/face_engine.h"

namespace faceauth {
namespace {

class Attributes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineConfig config;
    config.model_dir = test::model_dir();
    engine_ = std::make_unique<FaceEngine>(config);
    face_ = portrait();
  }
  static void TearDownTestSuite() { engine_.reset(); }

  // The largest face of a demo group photo with a margin of 1.5 faces, 400 px high.
  static cv::Mat portrait() {
    cv::Mat photo = cv::imread(test::demo_photo("sample1.jpg").string(), cv::IMREAD_COLOR);
    auto found = engine_->analyze_pixels(photo, Stages::detect);
    EXPECT_TRUE(found.ok());
    if (!found.ok()) return photo;
    cv::Rect2f box = found->faces.front().box;
    cv::Rect crop(cv::Point(static_cast<int>(box.x - 1.5f * box.width), static_cast<int>(box.y - 1.5f * box.height)),
                  cv::Size(static_cast<int>(4 * box.width), static_cast<int>(4 * box.height)));
    crop &= cv::Rect(0, 0, photo.cols, photo.rows);
    cv::Mat out;
    cv::resize(photo(crop), out, cv::Size(), 400.0 / crop.height, 400.0 / crop.height, cv::INTER_CUBIC);
    return out;
  }

  static FaceAnalysis analyze(const cv::Mat& image, AttributeNeeds needs = AttributeNeeds::all()) {
    auto result = engine_->analyze_pixels(image, Stages::all, needs);
    EXPECT_TRUE(result.ok());
    return result.ok() ? *result : FaceAnalysis{};
  }

  static std::vector<cv::Point> points(const Landmarks68& landmarks, int from, int to) {
    std::vector<cv::Point> out;
    for (int i = from; i <= to; ++i) out.emplace_back(landmarks[i]);
    return out;
  }

  // A light-blue mask from the nose bridge over the jaw line, as landmarks place it.
  static cv::Mat with_mask(const cv::Mat& image) {
    Landmarks68 landmarks = analyze(image).landmarks;
    std::vector<cv::Point> polygon = points(landmarks, 1, 15);
    polygon.emplace_back(landmarks[28]);
    cv::Mat out = image.clone();
    cv::fillPoly(out, std::vector<std::vector<cv::Point>>{polygon}, cv::Scalar(230, 200, 150), cv::LINE_AA);
    return out;
  }

  // Two dark lenses over the eyes and a bridge.
  static cv::Mat with_sunglasses(const cv::Mat& image) {
    Landmarks68 landmarks = analyze(image).landmarks;
    cv::Mat out = image.clone();
    cv::Point2f left = (landmarks[36] + landmarks[39]) / 2, right = (landmarks[42] + landmarks[45]) / 2;
    int rx = static_cast<int>(cv::norm(right - left) * 0.45), ry = static_cast<int>(cv::norm(right - left) * 0.3);
    for (cv::Point2f eye : {left, right}) {
      cv::ellipse(out, cv::Point(eye), cv::Size(rx, ry), 0, 0, 360, cv::Scalar(20, 20, 20), cv::FILLED, cv::LINE_AA);
    }
    cv::line(out, cv::Point(left), cv::Point(right), cv::Scalar(20, 20, 20), 3);
    return out;
  }

  // The analysed face alone: its box with a face width either side, 1.5 above and 1 below (the
  // portrait also shows a neighbour, who becomes the largest face once a hat hides some of this one).
  static cv::Mat single_face(const cv::Mat& image) {
    cv::Rect2f box = analyze(image).faces.front().box;
    cv::Rect crop(cv::Point(static_cast<int>(box.x - box.width), static_cast<int>(box.y - 1.5f * box.height)),
                  cv::Point(static_cast<int>(box.br().x + box.width), static_cast<int>(box.br().y + box.height)));
    return image(crop & cv::Rect(0, 0, image.cols, image.rows)).clone();
  }

  // A yellow hard hat as tools/train/synth_hats.py draws one: a dome from the forehead over the
  // top of the head, about temple to temple wide, a brim, a ridge and a highlight.
  static cv::Mat with_hard_hat(const cv::Mat& image) {
    Landmarks68 landmarks = analyze(image).landmarks;
    cv::Point2f brows(0, 0);
    for (int i = 17; i <= 26; ++i) brows += landmarks[i] / 10.0f;
    cv::Point2f along = (landmarks[42] + landmarks[45]) / 2 - (landmarks[36] + landmarks[39]) / 2;
    along /= static_cast<float>(cv::norm(along));
    const cv::Point2f up(along.y, -along.x);
    const float width = (landmarks[16] - landmarks[0]).dot(along);
    const double roll = std::atan2(along.y, along.x) * 180.0 / CV_PI;
    const cv::Point2f brim = brows + up * (0.1f * width);
    const cv::Scalar yellow(20, 210, 250), dark(12, 126, 150);
    auto axes = [width](float a, float b) {
      return cv::Size(static_cast<int>(a * width), static_cast<int>(b * width));
    };
    cv::Mat out = image.clone();
    cv::ellipse(out, cv::Point(brim), axes(0.65f, 0.8f), roll, 180, 360, yellow, cv::FILLED, cv::LINE_AA);
    cv::ellipse(out, cv::Point(brim), axes(0.78f, 0.06f), roll, 0, 360, yellow, cv::FILLED, cv::LINE_AA);
    cv::line(out, cv::Point(brim - along * (0.78f * width)), cv::Point(brim + along * (0.78f * width)), dark, 3);
    cv::line(out, cv::Point(brim + up * (0.1f * width)), cv::Point(brim + up * (0.8f * width)), dark, 5);
    cv::Point2f spot = brim + up * (0.5f * width) - along * (0.25f * width);
    cv::ellipse(out, cv::Point(spot), axes(0.1f, 0.07f), roll - 20, 0, 360, cv::Scalar(250, 250, 250), cv::FILLED,
                cv::LINE_AA);
    return out;
  }

  static inline std::unique_ptr<FaceEngine> engine_;
  static inline cv::Mat face_;
};

TEST_F(Attributes, PlainFaceIsNeitherCoveredNorOccluded) {
  FaceAnalysis plain = analyze(face_);
  ASSERT_TRUE(plain.attributes.occluded && plain.attributes.face_cover && plain.attributes.head_cover);
  EXPECT_LT(*plain.attributes.face_cover, 50.0);
  EXPECT_GE(*plain.attributes.occluded, 50.0);
  EXPECT_LT(*plain.attributes.head_cover, 50.0);  // bare head
}

TEST_F(Attributes, MaskDrawnFromLandmarksIsCoveredAndOccluded) {
  FaceAnalysis masked = analyze(with_mask(face_));
  ASSERT_TRUE(masked.attributes.occluded && masked.attributes.face_cover);
  EXPECT_GE(*masked.attributes.face_cover, 50.0);
  EXPECT_LT(*masked.attributes.occluded, 50.0);
  EXPECT_LT(*masked.attributes.head_cover, 50.0);  // a mask is no hard hat (first head: 62.4)
}

TEST_F(Attributes, HardHatDrawnFromLandmarksIsHeadCover) {
  cv::Mat single = single_face(face_);
  FaceAnalysis bare = analyze(single);
  ASSERT_TRUE(bare.attributes.head_cover);
  EXPECT_LT(*bare.attributes.head_cover, 50.0);
  FaceAnalysis hatted = analyze(with_hard_hat(single));
  ASSERT_TRUE(hatted.attributes.head_cover && hatted.attributes.face_cover);
  EXPECT_GE(*hatted.attributes.head_cover, 50.0);
  EXPECT_LT(*hatted.attributes.face_cover, 50.0);  // a hat is no mask
}

TEST_F(Attributes, BareHeadsWithLongHairAreNoHeadCover) {
  // Bare heads the first head-cover head called covered (91.4 and 84.0). Not asserted:
  // sample5 (87.0, looking up, long hair), docs/attributes.md. Scored as the service scores an
  // upload: the file's bytes decoded to the working size (1280 px), not the 1920 px photo as
  // read (there the same heads score sample4 21.1 instead of 4.4).
  for (const char* name : {"sample3.jpg", "sample4.jpg"}) {
    auto bare = engine_->analyze(test::read_file(test::demo_photo(name)), Stages::all, AttributeNeeds::all());
    ASSERT_TRUE(bare.ok()) << name;
    ASSERT_TRUE(bare->attributes.head_cover) << name;
    EXPECT_LT(*bare->attributes.head_cover, 50.0) << name;
  }
}

TEST_F(Attributes, WithMaskRequiredOnlyTheEyesCount) {
  const AttributeNeeds eyes_only{true, false, false, true};
  FaceAnalysis masked = analyze(with_mask(face_), eyes_only);
  ASSERT_TRUE(masked.attributes.occluded);
  EXPECT_GE(*masked.attributes.occluded, 50.0);  // the mask is what was asked for
  FaceAnalysis shaded = analyze(with_sunglasses(face_), eyes_only);
  ASSERT_TRUE(shaded.attributes.occluded);
  EXPECT_LT(*shaded.attributes.occluded, 50.0);
}

TEST_F(Attributes, SunglassesAreAnOcclusion) {
  FaceAnalysis shaded = analyze(with_sunglasses(face_));
  ASSERT_TRUE(shaded.attributes.occluded && shaded.attributes.face_cover);
  EXPECT_LT(*shaded.attributes.occluded, 50.0);
  EXPECT_LT(*shaded.attributes.face_cover, 50.0);  // no protective equipment
}

TEST_F(Attributes, OnlyTheScoresAskedForAreComputed) {
  FaceAnalysis none = analyze(face_, AttributeNeeds{});
  EXPECT_FALSE(none.attributes.occluded || none.attributes.face_cover || none.attributes.head_cover);
  FaceAnalysis head = analyze(face_, AttributeNeeds{false, false, true, false, false});
  EXPECT_FALSE(head.attributes.occluded || head.attributes.face_cover);
  EXPECT_TRUE(head.attributes.head_cover);
}

// `faceauth features --pad-retry` asks the engine for the features alone (no heads loaded).
TEST_F(Attributes, FeaturesAloneComeWithoutScores) {
  AttributeNeeds needs;
  needs.features = true;
  FaceAnalysis features = analyze(face_, needs);
  EXPECT_FALSE(features.attributes.occluded || features.attributes.face_cover || features.attributes.head_cover);
  for (const char* region : {"top", "upper", "lower"}) {
    EXPECT_EQ(features.attribute_features.get(region).size(), 512u) << region;
  }
}

TEST_F(Attributes, ScoresHaveOneDecimalInRange) {
  FaceAnalysis plain = analyze(face_);
  for (const auto& score : {plain.attributes.occluded, plain.attributes.face_cover, plain.attributes.head_cover}) {
    ASSERT_TRUE(score);
    EXPECT_GE(*score, 0.0);
    EXPECT_LE(*score, 100.0);
    EXPECT_NEAR(*score * 10, std::round(*score * 10), 1e-6);
  }
}

TEST(AttributeHead, StandardisesWeighsAndSquashes) {
  nlohmann::json doc = {{"version", "t-1"},    {"pipeline", "p"},        {"inputs", {"upper"}}, {"mean", {1.0, 2.0}},
                        {"scale", {2.0, 0.5}}, {"weights", {1.0, -1.0}}, {"bias", 0.25}};
  AttributeHead head(doc);
  AttributeFeatures features;
  features.regions["upper"] = {2.0f, 6.0f};  // standardised: (1 * 2, 4 * 0.5) = (2, 2) -> 2 - 2 + 0.25
  EXPECT_NEAR(head.probability(features), 1.0 / (1.0 + std::exp(-0.25)), 1e-9);
  features.regions["upper"] = {2.0f};
  EXPECT_THROW(head.probability(features), std::runtime_error);
}

// kind "mlp": z = (x - mean) * scale, h = max(0, W z + c), p = sigmoid(w . h + b).
TEST(AttributeHead, HiddenLayerIsReluThenLogistic) {
  nlohmann::json doc = {{"version", "t-2"},
                        {"pipeline", "p"},
                        {"inputs", {"upper"}},
                        {"kind", "mlp"},
                        {"mean", {1.0, 2.0}},
                        {"scale", {2.0, 0.5}},
                        {"hidden_weights", {{1.0, 0.0}, {0.0, -1.0}, {0.5, 0.5}}},
                        {"hidden_bias", {0.0, 1.0, -1.0}},
                        {"weights", {1.0, 2.0, -4.0}},
                        {"bias", 0.25}};
  AttributeHead head(doc);
  AttributeFeatures features;
  features.regions["upper"] = {2.0f, 6.0f};  // z = (2, 2): h = (2, max(0, -1), max(0, 1)) = (2, 0, 1)
  EXPECT_NEAR(head.probability(features), 1.0 / (1.0 + std::exp(-(2.0 - 4.0 + 0.25))), 1e-9);
  doc["hidden_bias"] = {0.0, 1.0};  // a unit without its bias
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
  doc["hidden_bias"] = {0.0, 1.0, -1.0};
  doc["hidden_weights"][1] = {0.0};  // a unit with too few weights
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
  doc["hidden_weights"][1] = {0.0, -1.0};
  doc["weights"] = {1.0, 2.0};  // output weights for 2 of the 3 units
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
  doc["weights"] = {1.0, 2.0, -4.0};
  doc["kind"] = "forest";
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
}

TEST(AttributeHead, RejectsMalformedDocuments) {
  nlohmann::json doc = {{"version", "t-1"},    {"pipeline", "p"},        {"inputs", {"upper"}}, {"mean", {1.0}},
                        {"scale", {2.0, 0.5}}, {"weights", {1.0, -1.0}}, {"bias", 0.25}};
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
  doc["mean"] = {1.0, 2.0};
  doc["inputs"] = {"ears"};
  EXPECT_THROW(AttributeHead{doc}, std::runtime_error);
}

TEST(AttributeModel, MissingHeadsFailAtStart) {
  EXPECT_THROW(AttributeModel(test::model_dir(), "faceapi_landmark68", "/nonexistent/heads"), std::runtime_error);
}

// A head trained on other features (another backbone, crop or landmark model) is refused with
// the command that retrains it, never used on features it was not trained on.
TEST(AttributeModel, HeadOfAnotherPipelineFailsAtStart) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("faceauth_heads_" + random_hex_id());
  fs::create_directories(dir);
  for (const char* name : {"occluded", "occluded_upper", "face_cover", "head_cover"}) {
    fs::copy_file(default_heads_dir() / (std::string(name) + ".json"), dir / (std::string(name) + ".json"));
  }
  EXPECT_NO_THROW(AttributeModel(test::model_dir(), "faceapi_landmark68", dir));
  nlohmann::json doc = nlohmann::json::parse(std::ifstream(dir / "face_cover.json"));
  doc["pipeline"] = "faceapi-recognition-descriptor";
  std::ofstream(dir / "face_cover.json") << doc.dump();
  try {
    AttributeModel model(test::model_dir(), "faceapi_landmark68", dir);
    ADD_FAILURE() << "a head of another pipeline was loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("face_cover"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tools/train/attributes.sh"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faceauth
