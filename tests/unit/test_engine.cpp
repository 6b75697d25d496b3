// The whole engine on the face-api demo photos (group photos shipped in the npm package):
// the same face under crops, scales, rotations and JPEG qualities scores high, different
// people score low, EXIF orientation equals rotated pixels, bad input gives typed errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_support.h"
#include "vision/face/face_engine.h"
#include "vision/face/similarity.h"

namespace faceauth {
namespace {

// The default project threshold: calibrated score 70 stands for FAR 1e-3 on LFW View 1
// (docs/accuracy.md) whichever model is the default.
constexpr double kSameScore = 70;

class Engine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineConfig config;
    config.model_dir = test::model_dir();
    engine_ = std::make_unique<FaceEngine>(config);
  }
  static void TearDownTestSuite() { engine_.reset(); }

  static cv::Mat photo(const std::string& name) {
    cv::Mat image = cv::imread(test::demo_photo(name).string(), cv::IMREAD_COLOR);
    EXPECT_FALSE(image.empty()) << name;
    return image;
  }
  static FaceAnalysis analyze(const std::vector<uint8_t>& bytes) {
    auto result = engine_->analyze(bytes);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : FaceAnalysis{};
  }
  static FaceAnalysis analyze(const cv::Mat& image, int quality = 95) {
    return analyze(test::encode(image, ".jpg", quality));
  }
  static ErrorCode error_of(const std::vector<uint8_t>& bytes) {
    auto result = engine_->analyze(bytes);
    EXPECT_FALSE(result.ok());
    return result.ok() ? ErrorCode::detection_server_error : result.error().code;
  }
  // A crop around a face box, `margin` box sizes on each side, inside the image.
  static cv::Mat crop_around(const cv::Mat& image, const cv::Rect2f& box, double margin) {
    cv::Rect r(cvRound(box.x - margin * box.width), cvRound(box.y - margin * box.height),
               cvRound(box.width * (1 + 2 * margin)), cvRound(box.height * (1 + 2 * margin)));
    return image(r & cv::Rect(0, 0, image.cols, image.rows)).clone();
  }
  static double similarity(const FaceAnalysis& a, const FaceAnalysis& b) {
    return cosine_similarity(a.embedding, b.embedding);
  }
  static double score(const FaceAnalysis& a, const FaceAnalysis& b) {
    EXPECT_FALSE(a.calibration.empty());
    return a.calibration.score(similarity(a, b));
  }

  static std::unique_ptr<FaceEngine> engine_;
};

std::unique_ptr<FaceEngine> Engine::engine_;

TEST_F(Engine, FindsEveryFaceOfAGroupPhotoLargestFirst) {
  // The 256 px BlazeFace finds the smaller faces of group photos that the default
  // short-range model leaves out (docs/detectors.md).
  EngineConfig config;
  config.model_dir = test::model_dir();
  config.detector.model = "hm_blazeface";
  auto result = FaceEngine(config).analyze(test::encode(photo("sample1.jpg"), ".jpg"));
  ASSERT_TRUE(result.ok());
  const FaceAnalysis& group = *result;
  ASSERT_EQ(group.faces.size(), 3u);
  EXPECT_EQ(group.embedding.size(), 640u);  // the default fuses a 128-d and a 512-d descriptor
  for (size_t i = 1; i < group.faces.size(); ++i) {
    EXPECT_GE(group.faces[0].box.area(), group.faces[i].box.area());
  }
  // The subject's eyes lie inside its box, left eye (image left) left of the right eye.
  const auto& box = group.faces[0].box;
  EXPECT_TRUE(box.contains(group.landmarks[36]));
  EXPECT_TRUE(box.contains(group.landmarks[45]));
  EXPECT_LT(group.landmarks[36].x, group.landmarks[45].x);
}

TEST_F(Engine, SubjectCentreTakesTheFaceNearestTheMiddle) {
  EngineConfig config;
  config.model_dir = test::model_dir();
  config.subject = Subject::centre;
  cv::Mat image = photo("sample4.jpg");
  auto result = FaceEngine(config).analyze(test::encode(image, ".jpg"));
  ASSERT_TRUE(result.ok());
  ASSERT_GE(result->faces.size(), 2u);
  auto distance = [&](const FaceBox& face) {
    cv::Point2f centre = (face.box.tl() + face.box.br()) * 0.5f;
    return std::hypot(centre.x - static_cast<float>(image.cols) / 2, centre.y - static_cast<float>(image.rows) / 2);
  };
  for (size_t i = 1; i < result->faces.size(); ++i) {
    EXPECT_LE(distance(result->faces[0]), distance(result->faces[i])) << i;
  }
  // The default, largest first, judges another face of this photo.
  FaceAnalysis largest = analyze(image);
  ASSERT_FALSE(largest.faces.empty());
  EXPECT_NE(largest.faces[0].box, result->faces[0].box);
  EXPECT_TRUE(result->faces[0].box.contains(result->landmarks[30]));
}

// dlib's float32 weights and face-api's 8-bit copy of them are one network: the same chip
// gives nearly the same descriptor. A wrong filter layout, channel order or input scale in
// the dlib converter gives unrelated descriptors.
TEST_F(Engine, DlibWeightsMatchTheirQuantisedFaceApiCopy) {
  EngineConfig config;
  config.model_dir = test::model_dir();
  config.embedding_model = "faceapi_recognition";
  std::vector<uint8_t> bytes = test::encode(photo("sample1.jpg"), ".jpg");
  auto faceapi = FaceEngine(config).analyze(bytes);
  config.embedding_model = "dlib_recognition";
  auto dlib = FaceEngine(config).analyze(bytes);
  ASSERT_TRUE(faceapi.ok() && dlib.ok());
  EXPECT_NE(dlib->model_version, faceapi->model_version);
  EXPECT_GT(similarity(*dlib, *faceapi), 0.99);
}

// A fused descriptor is sqrt(weight) * each part's descriptor, so its cosine is the weighted
// mean of the parts' cosines; its version names every part's pipeline.
TEST_F(Engine, FusedSimilarityIsTheWeightedMeanOfItsParts) {
  std::vector<uint8_t> first = test::encode(photo("sample1.jpg"), ".jpg");
  std::vector<uint8_t> second = test::encode(photo("sample2.jpg"), ".jpg");
  std::map<std::string, double> cosine;
  std::map<std::string, std::string> version;
  for (std::string model : {"fused_recognition", "dlib_recognition", "faceplugin_recognition"}) {
    EngineConfig config;
    config.model_dir = test::model_dir();
    config.embedding_model = model;
    FaceEngine engine(config);
    auto a = engine.analyze(first), b = engine.analyze(second);
    ASSERT_TRUE(a.ok() && b.ok()) << model;
    cosine[model] = cosine_similarity(a->embedding, b->embedding);
    version[model] = a->model_version;
  }
  EXPECT_NEAR(cosine["fused_recognition"], 0.5 * (cosine["dlib_recognition"] + cosine["faceplugin_recognition"]), 1e-4);
  EXPECT_NE(version["fused_recognition"].find(version["dlib_recognition"] + "*0.5"), std::string::npos);
  EXPECT_NE(version["fused_recognition"].find(version["faceplugin_recognition"] + "*0.5"), std::string::npos);
}

// The fusion's parts on two threads at once give the very descriptor of the serial run.
TEST_F(Engine, ParallelPartsGiveTheSameDescriptor) {
  std::vector<uint8_t> bytes = test::encode(photo("sample1.jpg"), ".jpg");
  std::vector<std::vector<float>> descriptors;
  for (ParallelParts parallel : {ParallelParts::off, ParallelParts::on}) {
    EngineConfig config;
    config.model_dir = test::model_dir();
    config.embedding.parallel_parts = parallel;
    auto result = FaceEngine(config).analyze(bytes);
    ASSERT_TRUE(result.ok());
    descriptors.push_back(result->embedding);
  }
  ASSERT_EQ(descriptors[0].size(), 640u);
  EXPECT_EQ(descriptors[0], descriptors[1]);
}

// `auto` takes a second core only while each extra part finds one idle: one analysis on two
// cores runs both parts at once, two analyses (c >= 2) or one core (taskset) run them in turn.
TEST(Embedding, PartsRunAtOnceOnlyWhenACoreIsIdle) {
  EXPECT_TRUE(run_parts_at_once(ParallelParts::when_idle, 2, 1, 2));
  EXPECT_FALSE(run_parts_at_once(ParallelParts::when_idle, 2, 2, 2));
  EXPECT_FALSE(run_parts_at_once(ParallelParts::when_idle, 2, 1, 1));
  EXPECT_TRUE(run_parts_at_once(ParallelParts::when_idle, 2, 3, 4));
  EXPECT_FALSE(run_parts_at_once(ParallelParts::when_idle, 1, 1, 8));
  EXPECT_TRUE(run_parts_at_once(ParallelParts::on, 2, 5, 1));
  EXPECT_FALSE(run_parts_at_once(ParallelParts::off, 2, 1, 8));
  EXPECT_EQ(parse_parallel_parts("auto"), ParallelParts::when_idle);
  EXPECT_EQ(parse_parallel_parts("on"), ParallelParts::on);
  EXPECT_EQ(parse_parallel_parts("0"), ParallelParts::off);
  EXPECT_THROW(parse_parallel_parts("sometimes"), std::invalid_argument);
}

// An engine at work counts itself while it analyses, and only then.
TEST(Embedding, EngineLoadCountsAnalysesInFlight) {
  const int before = EngineLoad::busy();
  {
    EngineLoad::Hold hold;
    EXPECT_EQ(EngineLoad::busy(), before + 1);
  }
  EXPECT_EQ(EngineLoad::busy(), before);
  EXPECT_GE(EngineLoad::usable_cpus(), 1);
}

// A model takes only the alignments its manifest lists; a fusion takes none (each part cuts
// its own chip).
TEST(Embedding, AlignmentAModelWasNotTrainedOnIsRefused) {
  EXPECT_THROW(Embedder(test::model_dir(), "faceplugin_recognition", {Alignment::dlib68, false}),
               std::invalid_argument);
  EXPECT_THROW(Embedder(test::model_dir(), "fused_recognition", {Alignment::arcface5, false}), std::invalid_argument);
  EXPECT_NO_THROW(Embedder(test::model_dir(), "dlib_recognition", {Alignment::dlib5, false}));
  EXPECT_EQ(Embedder(test::model_dir(), "faceplugin_recognition").model_version(),
            "faceplugin-0.0.1-fr-feature+arcface5");
}

TEST_F(Engine, SameFaceUnderCropsScalesRotationsAndQualitiesScoresHigh) {
  cv::Mat image = photo("sample1.jpg");
  FaceAnalysis reference = analyze(image);
  ASSERT_FALSE(reference.faces.empty());
  cv::Rect2f box = reference.faces[0].box;
  cv::Mat tight = crop_around(image, box, 0.5), wide = crop_around(image, box, 1.5);
  std::vector<std::pair<std::string, FaceAnalysis>> variants;
  variants.emplace_back("tight crop", analyze(tight));
  variants.emplace_back("wide crop", analyze(wide));
  for (double scale : {0.5, 1.6}) {
    cv::Mat scaled;
    cv::resize(tight, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
    variants.emplace_back("scale " + std::to_string(scale), analyze(scaled));
  }
  for (double angle : {-12.0, 12.0}) {
    cv::Mat turned;
    // The tight crop: a wide one holds part of a neighbour who may become the largest face.
    cv::Point2f centre(static_cast<float>(tight.cols) / 2, static_cast<float>(tight.rows) / 2);
    cv::warpAffine(tight, turned, cv::getRotationMatrix2D(centre, angle, 1.0), tight.size(), cv::INTER_LINEAR,
                   cv::BORDER_REPLICATE);
    variants.emplace_back("rotation " + std::to_string(angle), analyze(turned));
  }
  for (int quality : {75, 40, 20}) variants.emplace_back("quality " + std::to_string(quality), analyze(tight, quality));
  for (const auto& [name, variant] : variants) {
    EXPECT_GT(score(reference, variant), kSameScore) << name;
  }
}

TEST_F(Engine, DifferentPeopleScoreLow) {
  cv::Mat image = photo("sample4.jpg");
  FaceAnalysis group = analyze(image);
  ASSERT_EQ(group.faces.size(), 4u);
  std::vector<FaceAnalysis> people;
  for (const FaceBox& face : group.faces) {
    cv::Mat alone = image.clone();  // the other faces blacked out, so each crop holds one person
    for (const FaceBox& other : group.faces) {
      if (&other != &face) cv::rectangle(alone, other.box, cv::Scalar::all(0), cv::FILLED);
    }
    people.push_back(analyze(crop_around(alone, face.box, 0.6)));
  }
  for (size_t i = 0; i < people.size(); ++i) {
    for (size_t j = i + 1; j < people.size(); ++j) {
      EXPECT_LT(score(people[i], people[j]), kSameScore) << i << " vs " << j;
    }
  }
}

TEST_F(Engine, ExifOrientationGivesTheSameResultAsRotatedPixels) {
  cv::Mat image = photo("sample2.jpg");
  cv::Mat stored;
  cv::rotate(image, stored, cv::ROTATE_90_COUNTERCLOCKWISE);  // what a phone held sideways writes
  FaceAnalysis upright = analyze(image);
  FaceAnalysis tagged = analyze(test::with_exif_orientation(test::encode(stored, ".jpg"), 6, true));
  ASSERT_EQ(tagged.orientation, 6);
  EXPECT_EQ(tagged.image_width, upright.image_width);
  EXPECT_EQ(tagged.faces.size(), upright.faces.size());
  EXPECT_GT(similarity(upright, tagged), 0.98);
  FaceAnalysis untagged = analyze(test::encode(stored, ".jpg"));
  EXPECT_NE(untagged.image_width, upright.image_width);
}

TEST_F(Engine, BadInputGivesTypedErrors) {
  auto jpeg = test::encode(photo("sample1.jpg"), ".jpg");
  jpeg.resize(jpeg.size() / 3);
  EXPECT_EQ(error_of(jpeg), ErrorCode::image_converting_error);
  std::string text = "just some text\n";
  EXPECT_EQ(error_of(std::vector<uint8_t>(text.begin(), text.end())), ErrorCode::image_converting_error);
  auto png = test::encode(cv::Mat(64, 64, CV_8UC3, cv::Scalar(0, 0, 0)), ".png");
  for (size_t at : {16u, 20u}) {
    png[at] = 0x00;
    png[at + 1] = 0x01;
    png[at + 2] = 0x86;
    png[at + 3] = 0xA0;  // 100000
  }
  EXPECT_EQ(error_of(png), ErrorCode::image_too_large);
  cv::Mat blank(480, 640, CV_8UC3, cv::Scalar(90, 160, 200));
  EXPECT_EQ(error_of(test::encode(blank, ".jpg")), ErrorCode::no_face);
}

TEST_F(Engine, PadRetryFindsTheFaceOfATightCropInItsOwnPixels) {
  // A crop of 0.4 face boxes around the face's centre: the face fills it and the detector
  // finds none; the service's pad retry (kPadSteps) finds it, in the crop's coordinates.
  const cv::Mat image = photo("sample1.jpg");
  const cv::Rect2f box = analyze(image).faces.at(0).box;
  const cv::Point2f centre(box.x + box.width / 2, box.y + box.height / 2);
  const float half = 0.2f * box.width;
  const cv::Mat tight =
      image(cv::Rect(cvRound(centre.x - half), cvRound(centre.y - half), cvRound(2 * half), cvRound(2 * half))).clone();
  const std::vector<uint8_t> bytes = test::encode(tight, ".jpg", 95);
  EXPECT_EQ(error_of(bytes), ErrorCode::no_face);
  EngineConfig config;
  config.model_dir = test::model_dir();
  config.pad_steps = kPadSteps;
  auto padded = FaceEngine(config).analyze(bytes, Stages::all, AttributeNeeds::all());
  ASSERT_TRUE(padded.ok()) << padded.error().message;
  EXPECT_TRUE(padded->padded);
  EXPECT_EQ(padded->image_width, tight.cols);
  EXPECT_EQ(padded->image_height, tight.rows);
  // The eyes lie in the crop and the box is centred on it: crop pixels, not canvas pixels.
  const cv::Rect2f crop(0, 0, static_cast<float>(tight.cols), static_cast<float>(tight.rows));
  EXPECT_TRUE(crop.contains(padded->landmarks[36]));
  EXPECT_TRUE(crop.contains(padded->landmarks[45]));
  const cv::Rect2f& found = padded->faces.at(0).box;
  EXPECT_NEAR(found.x + found.width / 2, tight.cols / 2.0, tight.cols * 0.2);
  EXPECT_NEAR(found.y + found.height / 2, tight.rows / 2.0, tight.rows * 0.2);
  EXPECT_EQ(padded->embedding.size(), 640u);
  EXPECT_TRUE(padded->attributes.occluded.has_value());
  // The same person as the whole photo.
  EXPECT_GT(score(*padded, analyze(image)), 70.0);
}

}  // namespace
}  // namespace faceauth
