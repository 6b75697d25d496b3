#include <gtest/gtest.h>

#include <cmath>

#include "vision/face/aligner.h"
#include "vision/face/face_detector.h"

namespace faceauth {
namespace {

// The tests place template points at 2 * p + (30, 40); the chip transform must undo that.
void expect_undoes_scale2_shift30_40(const cv::Mat& m) {
  EXPECT_NEAR(m.at<double>(0, 0), 0.5, 1e-6);
  EXPECT_NEAR(m.at<double>(1, 0), 0.0, 1e-6);
  EXPECT_NEAR(m.at<double>(0, 2), -15, 1e-4);
  EXPECT_NEAR(m.at<double>(1, 2), -20, 1e-4);
}

TEST(Aligner, SimilarityTransformRecoversAKnownOne) {
  double angle = 0.3, scale = 1.7, tx = 12, ty = -5;
  std::vector<cv::Point2d> from = {{0, 0}, {10, 0}, {0, 10}, {7, 3}}, to;
  for (const auto& p : from) {
    to.emplace_back(scale * (std::cos(angle) * p.x - std::sin(angle) * p.y) + tx,
                    scale * (std::sin(angle) * p.x + std::cos(angle) * p.y) + ty);
  }
  cv::Mat m = similarity_transform(from, to);
  EXPECT_NEAR(m.at<double>(0, 0), scale * std::cos(angle), 1e-9);
  EXPECT_NEAR(m.at<double>(1, 0), scale * std::sin(angle), 1e-9);
  EXPECT_NEAR(m.at<double>(0, 2), tx, 1e-9);
  EXPECT_NEAR(m.at<double>(1, 2), ty, 1e-9);
}

TEST(Aligner, LandmarksOnThe68PointTemplateGiveTheIdentity) {
  ChipTemplate chip;  // dlib68 by default
  std::vector<cv::Point2d> target = dlib68_chip_points(chip);
  ASSERT_EQ(target.size(), 33u);
  Landmarks68 landmarks{};
  for (auto& p : landmarks) p = cv::Point2f(1000, -1000);  // points the fit must ignore
  size_t k = 0;
  for (size_t i = 0; i < 68; ++i) {
    if ((i >= 27 && i <= 54) || (i >= 60 && i <= 64)) {
      landmarks[i] = cv::Point2f(static_cast<float>(target[k].x * 2 + 30), static_cast<float>(target[k].y * 2 + 40));
      ++k;
    }
  }
  cv::Mat m = chip_transform(landmarks, chip);
  expect_undoes_scale2_shift30_40(m);
  EXPECT_EQ(parse_alignment("dlib5"), Alignment::dlib5);
  EXPECT_THROW(parse_alignment("box"), std::invalid_argument);
}

TEST(Aligner, LandmarksOnTheTemplateGiveTheIdentity) {
  ChipTemplate chip;
  chip.alignment = Alignment::dlib5;
  std::vector<cv::Point2d> target = dlib5_chip_points(chip);
  Landmarks68 landmarks{};
  const int indices[5] = {45, 42, 36, 39, 33};
  for (int i = 0; i < 5; ++i) {
    landmarks[static_cast<size_t>(indices[i])] =
        cv::Point2f(static_cast<float>(target[static_cast<size_t>(i)].x * 2 + 30),
                    static_cast<float>(target[static_cast<size_t>(i)].y * 2 + 40));
  }
  cv::Mat m = chip_transform(landmarks, chip);
  expect_undoes_scale2_shift30_40(m);
  cv::Mat image(400, 400, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::Mat out = extract_chip(image, landmarks, chip);
  EXPECT_EQ(out.size(), cv::Size(150, 150));
}

// The ArcFace template is fitted to eye centres (the mean of each eye's six points), the nose
// tip and the mouth corners (the mean of outer and inner corner points).
TEST(Aligner, ArcfaceFivePointsComeFromEyeCentresNoseTipAndMouthCorners) {
  ChipTemplate chip;
  chip.size = 112;
  chip.alignment = Alignment::arcface5;
  std::vector<cv::Point2d> target = arcface5_chip_points(chip);
  ASSERT_EQ(target.size(), 5u);
  EXPECT_NEAR(target[0].x, 38.2946, 1e-4);
  EXPECT_NEAR(target[4].y, 92.2041, 1e-4);
  auto placed = [&](size_t k, double dx, double dy) {
    return cv::Point2f(static_cast<float>(target[k].x * 2 + 30 + dx), static_cast<float>(target[k].y * 2 + 40 + dy));
  };
  Landmarks68 landmarks{};
  for (auto& p : landmarks) p = cv::Point2f(1000, -1000);  // points the fit must ignore
  for (size_t i = 36; i < 42; ++i) landmarks[i] = placed(0, i % 2 ? 3 : -3, i < 39 ? 2 : -2);
  for (size_t i = 42; i < 48; ++i) landmarks[i] = placed(1, i % 2 ? -3 : 3, i < 45 ? 2 : -2);
  landmarks[30] = placed(2, 0, 0);
  landmarks[48] = placed(3, -2, 0);
  landmarks[60] = placed(3, 2, 0);
  landmarks[54] = placed(4, 2, 0);
  landmarks[64] = placed(4, -2, 0);
  cv::Mat m = chip_transform(landmarks, chip);
  expect_undoes_scale2_shift30_40(m);
  EXPECT_EQ(parse_alignment("arcface5"), Alignment::arcface5);
  EXPECT_STREQ(alignment_name(Alignment::arcface5), "arcface5");
}

TEST(Detector, NonMaxSuppressionKeepsTheBestOfOverlaps) {
  std::vector<FaceBox> boxes = {{{0, 0, 10, 10}, 0.6f, {}}, {{1, 1, 10, 10}, 0.9f, {}}, {{50, 50, 10, 10}, 0.7f, {}}};
  auto kept = non_max_suppression(boxes, 0.3f);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.7f);
}

}  // namespace
}  // namespace faceauth
