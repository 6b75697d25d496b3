// Quality checks and the liveness head on fixtures the code makes from a face-api demo photo:
// a selfie-like crop passes, and blurred, darkened, shrunk and two-face versions each fail
// with their own code. The pose check and the liveness metrics are table-tested.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/liveness_metrics.h"
#include "policy/policy.h"
#include "test_support.h"
#include "vision/checks/quality.h"
#include "vision/face/aligner.h"

namespace faceauth {
namespace {

std::vector<std::string> fail_codes(const Scores& scores, const Policy& policy) {
  std::vector<std::string> out;
  for (const FailCode& fail : decide(scores, policy).fails) out.push_back(fail.code);
  return out;
}

// Scores of a face that matches and passes every other check, with these measures.
Scores passing_scores(const QualityMeasures& measured) {
  Scores scores;
  scores.face_similarity = 100;
  scores.liveness = 99;
  scores.head_cover = scores.face_cover = 90;
  scores.quality = measured;
  return scores;
}

std::vector<std::string> quality_codes(const QualityMeasures& measured, const Policy& policy) {
  Scores scores;
  scores.face_similarity = 100;
  scores.quality = measured;
  return fail_codes(scores, policy);
}

// A sharp, well-lit face with the eyes `eye_distance_px` apart, turned nowhere, its landmarks
// on the face (the jaw 0.85 of the box: a real face's, docs/attributes.md "Round 6").
QualityMeasures sharp_face(double eye_distance_px) {
  QualityMeasures face;
  face.eye_distance_px = eye_distance_px;
  face.landmark_fit = 0.85;
  face.sharpness = 10;
  face.brightness = 120;
  return face;
}

class Quality : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineConfig config;
    config.model_dir = test::model_dir();
    engine_ = std::make_unique<FaceEngine>(config);
    liveness_ = std::make_unique<LivenessModel>(default_heads_dir() / "liveness.json", test::model_dir());
    selfie_ = make_selfie();
  }
  static void TearDownTestSuite() {
    engine_.reset();
    liveness_.reset();
  }

  // The largest face of a demo group photo with a margin, scaled to 720 px high.
  static cv::Mat make_selfie() {
    cv::Mat photo = cv::imread(test::demo_photo("sample1.jpg").string(), cv::IMREAD_COLOR);
    auto found = engine_->analyze(test::encode(photo, ".jpg"), Stages::detect);
    EXPECT_TRUE(found.ok());
    if (!found.ok()) return photo;
    cv::Rect2f box = found->faces[0].box;
    cv::Rect region(cvRound(box.x - 0.6 * box.width), cvRound(box.y - 0.6 * box.height), cvRound(box.width * 2.2),
                    cvRound(box.height * 2.2));
    cv::Mat crop = photo(region & cv::Rect(0, 0, photo.cols, photo.rows)), out;
    cv::resize(crop, out, {}, 720.0 / crop.rows, 720.0 / crop.rows, cv::INTER_CUBIC);
    return out;
  }

  static FaceChecks check(const cv::Mat& image) {
    auto analysis = engine_->analyze(test::encode(image, ".jpg"));
    EXPECT_TRUE(analysis.ok()) << (analysis.ok() ? "" : analysis.error().message);
    if (!analysis.ok()) return {};
    FaceChecks checks = check_face(*analysis, liveness_.get());
    std::cout << "  measured: " << liveness_quality_json(checks).dump() << "\n";
    return checks;
  }

  // The default policy with the several-faces check on (it is off by default).
  static Policy policy() {
    Policy policy;
    policy.quality.max_second_face_ratio = 0.5;
    return policy;
  }

  static std::unique_ptr<FaceEngine> engine_;
  static std::unique_ptr<LivenessModel> liveness_;
  static cv::Mat selfie_;
};

std::unique_ptr<FaceEngine> Quality::engine_;
std::unique_ptr<LivenessModel> Quality::liveness_;
cv::Mat Quality::selfie_;

TEST_F(Quality, AGoodSelfiePassesEveryCheck) {
  FaceChecks checks = check(selfie_);
  EXPECT_EQ(quality_codes(checks.quality, policy()), std::vector<std::string>{});
  EXPECT_EQ(checks.quality.face_count, 1);
  EXPECT_GT(checks.quality.eye_distance_px, 60);
  ASSERT_TRUE(checks.liveness.has_value());
  EXPECT_GE(*checks.liveness, 0);
  EXPECT_LE(*checks.liveness, 100);
}

// The screen head reads the attribute pass's features when the engine computed them, else it
// runs hm_faceres itself on the same crop: both give the same score. A live selfie passes 50.
TEST_F(Quality, LivenessReusesTheAttributeFeatures) {
  auto analysis = engine_->analyze(test::encode(selfie_, ".jpg"), Stages::all, AttributeNeeds::all());
  ASSERT_TRUE(analysis.ok());
  ASSERT_FALSE(analysis->attribute_features.regions.empty());
  FaceChecks reused = check_face(*analysis, liveness_.get());
  FaceAnalysis without = *analysis;
  without.attribute_features = {};
  FaceChecks own = check_face(without, liveness_.get());
  ASSERT_TRUE(reused.liveness && own.liveness);
  EXPECT_NEAR(*reused.liveness, *own.liveness, 0.11);
  EXPECT_GE(*reused.liveness, 50) << "a live selfie";
}

TEST_F(Quality, DefaultsPassTheDemoPhotos) {
  for (const char* name : {"sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"}) {
    cv::Mat photo = cv::imread(test::demo_photo(name).string(), cv::IMREAD_COLOR);
    EXPECT_EQ(quality_codes(check(photo).quality, Policy{}), std::vector<std::string>{}) << name;
  }
}

// landmark_fit is the distance between landmarks 0 and 16 over the detector box's width.
TEST_F(Quality, LandmarkFitIsTheJawOverTheBox) {
  auto analysis = engine_->analyze(test::encode(selfie_, ".jpg"));
  ASSERT_TRUE(analysis.ok());
  double fit = check_face(*analysis, nullptr).quality.landmark_fit;
  EXPECT_GT(fit, 0.6) << "a real face's landmarks fit its box";
  EXPECT_LT(fit, 1.05);
  analysis->landmarks[0] = cv::Point2f(100, 200);
  analysis->landmarks[16] = cv::Point2f(130, 240);  // 50 px apart
  analysis->faces[0].box.width = 125;
  EXPECT_NEAR(check_face(*analysis, nullptr).quality.landmark_fit, 0.4, 1e-6);
  EXPECT_DOUBLE_EQ(quality_json(check_face(*analysis, nullptr).quality).at("landmark_fit").get<double>(), 0.4);
  analysis->faces[0].box.width = 0;
  EXPECT_EQ(check_face(*analysis, nullptr).quality.landmark_fit, 0) << "no box, no fit";
}

// face-api's sample4 at 1024 px: the landmarks sit on the chin and neck (the jaw a third of the
// box), so with a head cover check on it is Pose_fail, not a head cover verdict on a crop of
// the neck. The other five demo photos' landmarks fit.
TEST_F(Quality, LandmarksOffTheFaceFailPoseWithPpe) {
  Policy ppe;
  ppe.head_cover_threshold = 50;
  for (const char* name : {"sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"}) {
    cv::Mat photo = cv::imread(test::demo_photo(name).string(), cv::IMREAD_COLOR), sized;
    double scale = 1024.0 / std::max(photo.cols, photo.rows);
    cv::resize(photo, sized, {}, scale, scale, cv::INTER_AREA);
    QualityMeasures measured = check(sized).quality;
    bool sample4 = std::string(name) == "sample4.jpg";
    EXPECT_EQ(measured.landmark_fit < kPpeMinLandmarkFit, sample4) << name << " fit " << measured.landmark_fit;
    if (sample4) {
      std::vector<std::string> codes = quality_codes(measured, ppe);
      EXPECT_NE(std::find(codes.begin(), codes.end(), "Pose_fail"), codes.end()) << name;
      codes = quality_codes(measured, Policy{});  // Blur_fail there (sharpness 1.4), not Pose_fail
      EXPECT_EQ(std::find(codes.begin(), codes.end(), "Pose_fail"), codes.end()) << "no fit rule without PPE";
    }
  }
}

TEST_F(Quality, BlurredFailsBlur) {
  cv::Mat blurred;
  cv::GaussianBlur(selfie_, blurred, {0, 0}, 6);
  EXPECT_EQ(quality_codes(check(blurred).quality, policy()), std::vector<std::string>{"Blur_fail"});
}

TEST_F(Quality, DarkenedAndOverexposedFailExposure) {
  cv::Mat dark, bright;
  selfie_.convertTo(dark, -1, 0.12);
  selfie_.convertTo(bright, -1, 1.0, 180);
  EXPECT_EQ(quality_codes(check(dark).quality, policy()), std::vector<std::string>{"Exposure_fail"});
  EXPECT_EQ(quality_codes(check(bright).quality, policy()), std::vector<std::string>{"Exposure_fail"});
}

TEST_F(Quality, ShrunkFailsFaceTooSmall) {
  cv::Mat small, canvas(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  cv::resize(selfie_, small, {}, 0.16, 0.16, cv::INTER_AREA);
  small.copyTo(
      canvas(cv::Rect((canvas.cols - small.cols) / 2, (canvas.rows - small.rows) / 2, small.cols, small.rows)));
  FaceChecks checks = check(canvas);
  EXPECT_LT(checks.quality.eye_distance_px, 20);
  EXPECT_EQ(quality_codes(checks.quality, policy()), std::vector<std::string>{"Face_too_small_fail"});
}

TEST_F(Quality, TwoFacesSideBySideFailMultipleFaces) {
  cv::Mat mirrored, pair;
  cv::flip(selfie_, mirrored, 1);
  cv::hconcat(selfie_, mirrored, pair);
  FaceChecks checks = check(pair);
  EXPECT_EQ(checks.quality.face_count, 2);
  EXPECT_GT(checks.quality.second_face_ratio, 0.5);
  EXPECT_EQ(quality_codes(checks.quality, policy()), std::vector<std::string>{"Multiple_faces_fail"});
  EXPECT_EQ(quality_codes(checks.quality, Policy{}), std::vector<std::string>{}) << "off by default";
}

TEST(QualityPolicy, PoseLimitsAndOrderOfCodes) {
  QualityMeasures good = sharp_face(100);
  Policy policy;
  QualityMeasures turned = good;
  turned.yaw = -50;
  EXPECT_EQ(quality_codes(turned, policy), std::vector<std::string>{"Pose_fail"});
  turned.yaw = 44;
  EXPECT_EQ(quality_codes(turned, policy), std::vector<std::string>{});
  turned.pitch = 41;
  EXPECT_EQ(quality_codes(turned, policy), std::vector<std::string>{"Pose_fail"});
  policy.quality.max_pitch = 0;  // off
  EXPECT_EQ(quality_codes(turned, policy), std::vector<std::string>{});
  QualityMeasures bad;
  bad.second_face_ratio = 0.9;
  bad.yaw = 80;
  policy.quality.max_second_face_ratio = 0.5;
  EXPECT_EQ(quality_codes(bad, policy), (std::vector<std::string>{"Face_too_small_fail", "Multiple_faces_fail",
                                                                  "Blur_fail", "Exposure_fail", "Pose_fail"}));
  policy.quality = {0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(policy.quality.any_on());
  EXPECT_FALSE(required_scores(policy).quality);
}

TEST(QualityPolicy, JsonRoundTripAndValidation) {
  Policy policy;
  policy.quality.max_second_face_ratio = 0.4;
  policy.quality.min_sharpness = 7.5;
  EXPECT_EQ(policy_from_json(policy_json(policy)), policy);
  Policy changed = policy_from_json({{"quality", {{"max_yaw", 20}}}});
  EXPECT_EQ(changed.quality.max_yaw, 20);
  EXPECT_EQ(changed.quality.min_brightness, Policy{}.quality.min_brightness);
  EXPECT_THROW(policy_from_json({{"quality", {{"max_second_face_ratio", 1.5}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"quality", {{"min_sharpness", "high"}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"quality", 3}}), std::invalid_argument);
}

TEST(QualityPolicy, MeasurementsAppearBesideTheScoreWhenOn) {
  Scores scores;
  scores.face_similarity = 90;
  scores.quality = QualityMeasures{};
  scores.quality->brightness = 12.34;
  nlohmann::json out = quality_measures_json(scores, Policy{});
  EXPECT_DOUBLE_EQ(out.at("brightness").get<double>(), 12.3);
  EXPECT_FALSE(scores_json(scores, Policy{}).contains("quality"));  // `score` keeps numbers only
  Policy off;
  off.quality = {0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(quality_measures_json(scores, off).is_null());
}

// Landmarks on the 68-point template of a 96 px chip (the points the alignment uses).
Landmarks68 template_landmarks() {
  std::vector<cv::Point2d> target = dlib68_chip_points(ChipTemplate{kLivenessChip, 0.2});
  Landmarks68 landmarks{};
  for (auto& p : landmarks) p = cv::Point2f(48, 48);
  size_t k = 0;
  for (size_t i = 0; i < 68 && k < target.size(); ++i) {
    if ((i >= 27 && i <= 54) || (i >= 60 && i <= 64)) landmarks[i] = cv::Point2f(target[k++]);
  }
  return landmarks;
}

// Screen-head features as the attribute pass gives them: every region, one value repeated.
AttributeFeatures constant_regions(float value) {
  AttributeFeatures out;
  for (const char* name : {"top", "upper", "lower"}) out.regions[name] = std::vector<float>(512, value);
  return out;
}

TEST(Liveness, FeatureLayoutMatchesTheCommittedHeads) {
  cv::Mat chip(kLivenessChip, kLivenessChip, CV_8UC3);
  cv::randu(chip, 0, 255);
  LivenessModel model(default_heads_dir() / "liveness.json", test::model_dir());
  std::vector<float> features = liveness_features(chip, model.net());
  EXPECT_EQ(features.size(), liveness_feature_names().size());
  EXPECT_EQ(features.size(), liveness_texture_features(chip).size() + LivenessNet::kSize);
  const AttributeFeatures screen = model.screen_features(chip, template_landmarks());
  double score = model.score(features, screen);
  EXPECT_GE(score, 0);
  EXPECT_LE(score, 100);
  EXPECT_DOUBLE_EQ(model.score_chip(chip, screen), score);
  EXPECT_THROW(model.score({1.0f, 2.0f}, screen), std::invalid_argument);
  AttributeFeatures short_screen = screen;
  short_screen.regions["lower"].pop_back();
  EXPECT_THROW(model.score(features, short_screen), std::invalid_argument);
  EXPECT_THROW(model.score(features, AttributeFeatures{}), std::runtime_error);  // regions not computed
  EXPECT_THROW(LivenessModel("/nonexistent/liveness.json", test::model_dir()), std::runtime_error);
}

// The fused score is the bounded sigmoid of the lower of the two heads' logits: a face the
// print head calls live is still refused when the screen head does not, and back.
TEST(Liveness, FusedScoreIsTheLowerOfTheTwoHeads) {
  LivenessModel model(default_heads_dir() / "liveness.json", test::model_dir());
  cv::Mat chip(kLivenessChip, kLivenessChip, CV_8UC3);
  cv::randu(chip, 0, 255);
  const std::vector<float> features = liveness_features(chip, model.net());
  const AttributeFeatures screen = model.screen_features(chip, template_landmarks());
  const double p = model.print_logit(features), s = model.screen_logit(screen);
  EXPECT_NEAR(model.score(features, screen),
              100.0 / (1.0 + std::exp(-std::clamp(std::min(p, s), -std::log(99.0), std::log(99.0)))), 1e-6);
  EXPECT_DOUBLE_EQ(model.fuse(3.0, -1.0), model.fuse(-1.0, 3.0));
  EXPECT_NEAR(model.fuse(3.0, -1.0), 100.0 / (1.0 + std::exp(1.0)), 1e-9);
  EXPECT_LT(model.fuse(4.0, -2.0), 50);  // one head refusing is enough
  EXPECT_GT(model.fuse(0.5, 4.0), 50);
  // The screen head reacts to its features: pushed far either way, its logit crosses 0.
  double low = model.screen_logit(constant_regions(0.0f)), high = model.screen_logit(constant_regions(50.0f));
  EXPECT_NE(low, high);
  EXPECT_GT(std::max(std::abs(low), std::abs(high)), 1.0);
}

// The committed heads bound their fused logit (logit_limit = ln 99): no input, however far
// from what they were trained on, scores above 99 or below 1 (the first heads gave 99.9 to
// unseen photos).
TEST(Liveness, ScoreIsBoundedForAnyInput) {
  LivenessModel model(default_heads_dir() / "liveness.json", test::model_dir());
  const size_t n = liveness_feature_names().size();
  for (float value : {-1e6f, -50.0f, 0.0f, 50.0f, 1e6f}) {
    std::vector<float> features(n, value);
    for (size_t i = 0; i < n; i += 2) features[i] = -value;  // opposite signs, so some logit is large
    for (float screen : {-1e6f, 0.0f, 1e6f}) {
      double score = model.score(features, constant_regions(screen));
      EXPECT_GE(score, 0.99 - 1e-9) << value << " " << screen;
      EXPECT_LE(score, 99.01 + 1e-9) << value << " " << screen;
    }
  }
}

// The screen head is refused at load when it is missing, malformed or made for another
// feature pipeline (another hm_faceres version, layer, crop or landmark model).
TEST(Liveness, ScreenHeadIsValidatedAtLoad) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "faceauth_screen_head_test";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(default_heads_dir() / "liveness.json", dir / "liveness.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(dir / "liveness_screen.json");
  EXPECT_THROW(LivenessModel(dir / "liveness.json", test::model_dir()), std::runtime_error) << "missing";
  std::ifstream in(default_heads_dir() / "liveness_screen.json");
  const nlohmann::json good = nlohmann::json::parse(in);
  auto write = [&](const nlohmann::json& doc) { std::ofstream(dir / "liveness_screen.json") << doc.dump(); };
  write(good);
  EXPECT_NO_THROW(LivenessModel(dir / "liveness.json", test::model_dir()));
  nlohmann::json other = good;
  other["pipeline"] = "another backbone";
  write(other);
  EXPECT_THROW(LivenessModel(dir / "liveness.json", test::model_dir()), std::runtime_error) << "pipeline";
  other = good;
  other["scale"].erase(0);
  write(other);
  EXPECT_THROW(LivenessModel(dir / "liveness.json", test::model_dir()), std::runtime_error) << "sizes";
  other = good;
  other["inputs"] = {"upper", "chin"};
  write(other);
  EXPECT_THROW(LivenessModel(dir / "liveness.json", test::model_dir()), std::runtime_error) << "input";
  std::ofstream(dir / "liveness_screen.json") << "{not json";
  EXPECT_THROW(LivenessModel(dir / "liveness.json", test::model_dir()), std::runtime_error) << "json";
  std::filesystem::remove_all(dir);
}

// The spectrum features see a periodic pattern (a screen's pixel grid, moire): a fine grating
// added to a smooth chip raises the peak-over-median of the high-frequency annulus.
TEST(Liveness, SpectrumFeaturesSeeAGrating) {
  cv::Mat smooth(kLivenessChip, kLivenessChip, CV_8UC3), grating;
  for (int y = 0; y < smooth.rows; ++y) {
    for (int x = 0; x < smooth.cols; ++x)
      smooth.at<cv::Vec3b>(y, x) = cv::Vec3b::all(static_cast<uint8_t>(80 + x + y / 2));
  }
  cv::RNG rng(7);
  cv::Mat noise(smooth.size(), CV_8UC3);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 6);
  smooth += noise;
  grating = smooth.clone();
  for (int y = 0; y < grating.rows; ++y) {
    for (int x = 0; x < grating.cols; x += 3) grating.at<cv::Vec3b>(y, x) += cv::Vec3b::all(25);
  }
  const std::vector<std::string> names = liveness_feature_names();
  const size_t peak = static_cast<size_t>(std::find(names.begin(), names.end(), "spectrum.14") - names.begin());
  ASSERT_LT(peak, names.size());
  EXPECT_GT(liveness_texture_features(grating)[peak], liveness_texture_features(smooth)[peak] + 1.0);
}

TEST(LivenessMetrics, RatesAndAuc) {
  std::vector<eval::ScoredSample> samples = {{90, true, "1"},  {80, true, "1"},  {40, true, "2"},
                                             {60, false, "1"}, {10, false, "2"}, {20, false, "2"}};
  eval::AttackRates rates = eval::attack_rates(samples, 50);
  EXPECT_EQ(rates.live, 3u);
  EXPECT_EQ(rates.attacks, 3u);
  EXPECT_DOUBLE_EQ(rates.apcer, 1.0 / 3);
  EXPECT_DOUBLE_EQ(rates.bpcer, 1.0 / 3);
  EXPECT_DOUBLE_EQ(rates.acer, 1.0 / 3);
  // Live above attack in 8 of the 9 pairs (only 40 < 60 loses).
  EXPECT_NEAR(eval::liveness_auc(samples), 8.0 / 9, 1e-12);
  samples.push_back({60, true, "3"});  // a tie counts half
  EXPECT_NEAR(eval::liveness_auc(samples), (8.0 + 2.5) / 12, 1e-12);
  EXPECT_TRUE(std::isnan(eval::attack_rates({{50, true, "1"}}, 50).apcer));
}

// With liveness on, a face under 20 px between the eyes is Face_too_small_fail (a third of live
// site faces that small score as reproductions), also when the project turned the limit off.
TEST(QualityPolicy, LivenessRequiresAFaceOfTwentyPixels) {
  QualityMeasures small = sharp_face(15);
  Policy policy;
  policy.quality.min_eye_distance_px = 0;  // the project's limit off
  EXPECT_EQ(effective_quality(policy).min_eye_distance_px, 0) << "without liveness the project's own";
  policy.liveness_threshold = 50;
  EXPECT_EQ(effective_quality(policy).min_eye_distance_px, kLivenessMinEyeDistancePx);
  Scores scores = passing_scores(small);
  EXPECT_EQ(fail_codes(scores, policy), std::vector<std::string>{"Face_too_small_fail"});
  policy.quality.min_eye_distance_px = 40;  // a larger limit stays
  EXPECT_EQ(effective_quality(policy).min_eye_distance_px, 40);
  policy.quality.min_eye_distance_px = 0;
  policy.face_cover_threshold = 50;  // with a PPE check too, the larger of the two
  EXPECT_EQ(effective_quality(policy).min_eye_distance_px, kPpeMinEyeDistancePx);
  small.eye_distance_px = 20;
  policy.face_cover_threshold = 0;
  EXPECT_TRUE(decide(passing_scores(small), policy).approved);
}

// With a PPE check on, the face must be large and frontal enough for the attribute heads:
// limits tighten to kPpe* (docs/attributes.md), also when the project turned them off.
TEST(QualityPolicy, PpeChecksRequireALargeFrontalFace) {
  QualityMeasures small_turned = sharp_face(25);
  small_turned.pitch = 35;  // within the default 40, over the PPE 30
  Policy policy;
  EXPECT_EQ(quality_codes(small_turned, policy), std::vector<std::string>{}) << "passes without PPE";
  for (bool head : {true, false}) {
    Policy ppe = policy;
    (head ? ppe.head_cover_threshold : ppe.face_cover_threshold) = 50;
    EXPECT_EQ(fail_codes(passing_scores(small_turned), ppe),
              (std::vector<std::string>{"Face_too_small_fail", "Pose_fail"}))
        << head;
    ppe.quality = {0, 0, 0, 0, 0, 0, 0};
    EXPECT_TRUE(required_scores(ppe).quality) << "measured even with every quality limit off";
    EXPECT_EQ(effective_quality(ppe).min_eye_distance_px, kPpeMinEyeDistancePx);
    EXPECT_EQ(effective_quality(ppe).max_yaw, kPpeMaxYaw);
    ppe.quality.max_yaw = 10;  // stricter limits stay
    EXPECT_EQ(effective_quality(ppe).max_yaw, 10);
  }
  small_turned.eye_distance_px = 31;
  small_turned.pitch = 29;
  Policy ppe = policy;
  ppe.head_cover_threshold = 50;
  EXPECT_EQ(effective_quality(ppe).max_pitch, kPpeMaxPitch);
  EXPECT_TRUE(decide(passing_scores(small_turned), ppe).approved);
}

// With a PPE check on, landmarks that do not fit the face found (landmark_fit under
// kPpeMinLandmarkFit) are Pose_fail: the heads' crop would be placed off the head. Without PPE
// the project's own min_landmark_fit (off by default) applies.
TEST(QualityPolicy, PpeChecksRequireLandmarksThatFitTheFace) {
  QualityMeasures off_face = sharp_face(60);
  off_face.landmark_fit = kPpeMinLandmarkFit - 0.01;
  Policy policy;
  EXPECT_EQ(effective_quality(policy).min_landmark_fit, 0) << "off by default";
  EXPECT_TRUE(decide(passing_scores(off_face), policy).approved) << "no fit rule without PPE";
  for (bool head : {true, false}) {
    Policy ppe = policy;
    (head ? ppe.head_cover_threshold : ppe.face_cover_threshold) = 50;
    EXPECT_EQ(effective_quality(ppe).min_landmark_fit, kPpeMinLandmarkFit) << head;
    EXPECT_EQ(fail_codes(passing_scores(off_face), ppe), std::vector<std::string>{"Pose_fail"}) << head;
    QualityMeasures fits = off_face;
    fits.landmark_fit = kPpeMinLandmarkFit;
    EXPECT_TRUE(decide(passing_scores(fits), ppe).approved) << head;
    ppe.quality.min_landmark_fit = 0.9;  // a stricter limit stays
    EXPECT_EQ(effective_quality(ppe).min_landmark_fit, 0.9);
  }
  policy.quality.min_landmark_fit = 0.7;  // the project's own limit, without PPE
  EXPECT_EQ(fail_codes(passing_scores(off_face), policy), std::vector<std::string>{"Pose_fail"});
  EXPECT_TRUE(policy.quality.any_on());
  EXPECT_EQ(policy_from_json(policy_json(policy)).quality.min_landmark_fit, 0.7);
  EXPECT_THROW(policy_from_json({{"quality", {{"min_landmark_fit", 2.5}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"quality", {{"min_landmark_fit", -0.1}}}}), std::invalid_argument);
}

}  // namespace
}  // namespace faceauth
