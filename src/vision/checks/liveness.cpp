#include "vision/checks/liveness.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/checks/attributes.h"
#include "vision/face/aligner.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {
namespace {

constexpr int kBins = 59;  // 58 uniform 8-bit patterns + one bin for all others

// Uniform LBP: patterns with at most two 0/1 transitions around the circle get their own bin.
std::array<uint8_t, 256> uniform_bins() {
  std::array<uint8_t, 256> bins{};
  uint8_t next = 0;
  for (int code = 0; code < 256; ++code) {
    int transitions = 0;
    for (int bit = 0; bit < 8; ++bit) transitions += ((code >> bit) & 1) != ((code >> ((bit + 1) % 8)) & 1);
    bins[static_cast<size_t>(code)] = transitions <= 2 ? next++ : static_cast<uint8_t>(kBins - 1);
  }
  return bins;
}

// Hellinger-normalised uniform LBP histogram (8 neighbours on the square of `radius`) of a
// region of an 8-bit single-channel image.
void append_lbp(const cv::Mat& channel, cv::Rect region, int radius, std::vector<float>& out) {
  static const std::array<uint8_t, 256> bins = uniform_bins();
  const int dx[8] = {-1, 0, 1, 1, 1, 0, -1, -1}, dy[8] = {-1, -1, -1, 0, 1, 1, 1, 0};
  std::array<double, kBins> histogram{};
  double total = 0;
  const int x0 = std::max(region.x, radius), x1 = std::min(region.x + region.width, channel.cols - radius);
  const int y0 = std::max(region.y, radius), y1 = std::min(region.y + region.height, channel.rows - radius);
  for (int y = y0; y < y1; ++y) {
    const uint8_t* row = channel.ptr<uint8_t>(y);
    for (int x = x0; x < x1; ++x) {
      int code = 0;
      for (int k = 0; k < 8; ++k) code |= (channel.ptr<uint8_t>(y + dy[k] * radius)[x + dx[k] * radius] >= row[x]) << k;
      histogram[bins[static_cast<size_t>(code)]] += 1;
      total += 1;
    }
  }
  for (double count : histogram) out.push_back(static_cast<float>(std::sqrt(total > 0 ? count / total : 0.0)));
}

// Mean, standard deviation and skewness of an 8-bit channel, on a 0-1 scale.
void append_moments(const cv::Mat& channel, std::vector<float>& out) {
  cv::Mat values;
  channel.convertTo(values, CV_64F, 1.0 / 255);
  cv::Scalar mean, stddev;
  cv::meanStdDev(values, mean, stddev);
  cv::Mat centred = values - mean[0];
  cv::Mat cubed;
  cv::pow(centred, 3, cubed);
  double skew = stddev[0] > 1e-6 ? cv::mean(cubed)[0] / std::pow(stddev[0], 3) : 0.0;
  out.push_back(static_cast<float>(mean[0]));
  out.push_back(static_cast<float>(stddev[0]));
  out.push_back(static_cast<float>(std::clamp(skew, -10.0, 10.0)));
}

// Sharpness and the share of spectral energy at high frequencies: prints and screens lose
// fine detail and add periodic patterns.
void append_frequency(const cv::Mat& luma, std::vector<float>& out) {
  cv::Mat values, laplacian, gx, gy, magnitude;
  luma.convertTo(values, CV_32F, 1.0 / 255);
  cv::Laplacian(values, laplacian, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  out.push_back(static_cast<float>(std::log(stddev[0] * stddev[0] + 1e-6)));
  cv::Sobel(values, gx, CV_32F, 1, 0);
  cv::Sobel(values, gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, magnitude);
  out.push_back(static_cast<float>(cv::mean(magnitude)[0]));
  cv::Mat spectrum;
  cv::dft(values - cv::mean(values)[0], spectrum, cv::DFT_COMPLEX_OUTPUT);
  double bands[3] = {0, 0, 0};  // all, beyond 1/4 and beyond 1/2 of the Nyquist radius
  const int n = values.rows, m = values.cols;
  for (int y = 0; y < n; ++y) {
    const cv::Vec2f* row = spectrum.ptr<cv::Vec2f>(y);
    double fy = std::min(y, n - y) / (n / 2.0);
    for (int x = 0; x < m; ++x) {
      double fx = std::min(x, m - x) / (m / 2.0), radius = std::sqrt(fx * fx + fy * fy);
      double energy = static_cast<double>(row[x][0]) * row[x][0] + static_cast<double>(row[x][1]) * row[x][1];
      bands[0] += energy;
      if (radius > 0.25) bands[1] += energy;
      if (radius > 0.5) bands[2] += energy;
    }
  }
  out.push_back(static_cast<float>(std::log((bands[1] + 1e-9) / (bands[0] + 1e-9))));
  out.push_back(static_cast<float>(std::log((bands[2] + 1e-9) / (bands[0] + 1e-9))));
}

// Specular cues: glossy prints and screens show bright, unsaturated patches.
void append_specular(const cv::Mat& hsv, const cv::Mat& luma, std::vector<float>& out) {
  int glossy = 0, saturated = 0;
  std::array<int, 256> histogram{};
  for (int y = 0; y < hsv.rows; ++y) {
    const cv::Vec3b* row = hsv.ptr<cv::Vec3b>(y);
    const uint8_t* l = luma.ptr<uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      glossy += row[x][2] > 230 && row[x][1] < 40;
      saturated += l[x] >= 250;
      histogram[l[x]] += 1;
    }
  }
  const double total = static_cast<double>(hsv.total());
  int level = 255;
  for (double above = 0; level > 0 && (above += histogram[static_cast<size_t>(level)]) < 0.01 * total;) --level;
  out.push_back(static_cast<float>(glossy / total));
  out.push_back(static_cast<float>(saturated / total));
  out.push_back(static_cast<float>(level / 255.0));
}

// Median of `values` (reordered), as numpy's: the mean of the two middle values when even.
double median(std::vector<double>& values) {
  const size_t half = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(half), values.end());
  double upper = values[half];
  if (values.size() % 2) return upper;
  return (*std::max_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(half)) + upper) / 2;
}

// numpy's default (linear) quantile of `values` (reordered).
double quantile(std::vector<double>& values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

// The power spectrum of the Hann-windowed luma: 12 radial bands' log share of the energy
// (0.05-1 of the Nyquist radius), and for three annuli how far the strongest (and the 99th
// percentile) frequency stands above the annulus median in log power: screens add moire
// and pixel-grid peaks, prints a halftone.
void append_spectrum(const cv::Mat& luma, std::vector<float>& out) {
  const int n = luma.rows;
  cv::Mat values, window;
  luma.convertTo(values, CV_64F, 1.0 / 255);
  values -= cv::mean(values)[0];
  window.create(n, n, CV_64F);  // numpy's outer(hanning(n), hanning(n))
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const double wy = 0.5 - 0.5 * std::cos(2 * CV_PI * y / (n - 1)),
                   wx = 0.5 - 0.5 * std::cos(2 * CV_PI * x / (n - 1));
      window.at<double>(y, x) = wy * wx;
    }
  }
  cv::Mat spectrum;
  cv::dft(values.mul(window), spectrum, cv::DFT_COMPLEX_OUTPUT);
  constexpr int kBands = 12;
  std::array<double, kBands> bands{};
  std::array<std::vector<double>, 3> annuli;
  double total = 1e-9;
  for (int y = 0; y < n; ++y) {
    const cv::Vec2d* row = spectrum.ptr<cv::Vec2d>(y);
    const double fy = std::min(y, n - y) / (n / 2.0);
    for (int x = 0; x < n; ++x) {
      const double fx = std::min(x, n - x) / (n / 2.0), radius = std::sqrt(fx * fx + fy * fy);
      const double power = row[x][0] * row[x][0] + row[x][1] * row[x][1];
      if (radius > 0) total += power;
      const int band = static_cast<int>(std::floor((radius - 0.05) / (0.95 / kBands)));
      if (radius >= 0.05 && band >= 0 && band < kBands) bands[static_cast<size_t>(band)] += power;
      const int annulus = static_cast<int>(std::floor((radius - 0.25) / 0.25));
      if (radius >= 0.25 && annulus >= 0 && annulus < 3)
        annuli[static_cast<size_t>(annulus)].push_back(std::log(power + 1e-12));
    }
  }
  for (double band : bands) out.push_back(static_cast<float>(std::log(band / total + 1e-9)));
  for (std::vector<double>& annulus : annuli) {
    const double middle = median(annulus);
    const double peak = *std::max_element(annulus.begin(), annulus.end());
    out.push_back(static_cast<float>(peak - middle));
    out.push_back(static_cast<float>(quantile(annulus, 0.99) - middle));
  }
}

struct Group {
  const char* name;
  int size;
};
// The feature layout; liveness_features() appends in this order.
constexpr Group kGroups[] = {{"lbp_y", kBins},
                             {"lbp_cr", kBins},
                             {"lbp_cb", kBins},
                             {"lbp_h", kBins},
                             {"lbp_s", kBins},
                             {"lbp_v", kBins},
                             {"lbp2_y", kBins},
                             {"lbp_grid", 4 * kBins},
                             {"moments", 18},
                             {"frequency", 4},
                             {"specular", 3},
                             {"spectrum", 18},
                             {"livenet", LivenessNet::kSize}};

// hm_liveness (human-models' 32x32 liveness CNN): its last conv block (32 channels before the
// final pooling, mean-pooled over the 16x16 map) and its 64-unit hidden layer.
constexpr const char* kLivenessNet = "hm_liveness";
constexpr const char* kLivenessLayers[] = {"onnx_node!add_33", "onnx_node!add_43"};

}  // namespace

std::filesystem::path default_heads_dir() {
  if (const char* dir = std::getenv("FACEAUTH_HEADS"); dir && *dir) return dir;
#ifdef FACEAUTH_HEADS_DIR
  return FACEAUTH_HEADS_DIR;
#else
  return "models/heads";
#endif
}

cv::Mat liveness_chip(const cv::Mat& bgr, const Landmarks68& landmarks) {
  ChipTemplate chip{kLivenessChip, 0.2};
  cv::Mat transform = chip_transform(landmarks, chip);
  // Warp only the face's neighbourhood: warp_crop's anti-alias pyramid then costs little.
  cv::Mat inverse;
  cv::invertAffineTransform(transform, inverse);
  std::vector<cv::Point2f> corners = {{0, 0}, {kLivenessChip, 0}, {0, kLivenessChip}, {kLivenessChip, kLivenessChip}};
  std::vector<cv::Point2f> mapped;
  cv::transform(corners, mapped, inverse);
  cv::Rect region = cv::boundingRect(mapped) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (region.empty()) return cv::Mat::zeros(kLivenessChip, kLivenessChip, CV_8UC3);
  transform.at<double>(0, 2) += transform.at<double>(0, 0) * region.x + transform.at<double>(0, 1) * region.y;
  transform.at<double>(1, 2) += transform.at<double>(1, 0) * region.x + transform.at<double>(1, 1) * region.y;
  return warp_crop(bgr(region), transform, kLivenessChip);
}

LivenessNet::LivenessNet(const std::filesystem::path& model_dir) {
  ModelManifest manifest = load_manifest(model_dir, kLivenessNet);
  net_ = load_net(model_dir, manifest);
  net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  version_ = manifest.version;
  manifest_ = std::make_shared<ModelManifest>(std::move(manifest));
}

void LivenessNet::append(const cv::Mat& chip, std::vector<float>& out) const {
  cv::Mat small;
  cv::resize(chip, small, {manifest_->input.width, manifest_->input.height}, 0, 0, cv::INTER_AREA);
  cv::Mat blob = make_blob(small, *manifest_);
  std::vector<cv::Mat> maps;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    net_.setInput(blob);
    net_.forward(maps, std::vector<cv::String>(std::begin(kLivenessLayers), std::end(kLivenessLayers)));
  }
  size_t appended = 0;
  for (const cv::Mat& map : maps) {  // N x C (x H x W): the mean over H x W of every channel
    const int channels = map.size[1];
    const size_t plane = map.total() / static_cast<size_t>(channels);
    const float* data = map.ptr<float>();
    for (int c = 0; c < channels; ++c) {
      double sum = 0;
      for (size_t i = 0; i < plane; ++i) sum += data[static_cast<size_t>(c) * plane + i];
      out.push_back(static_cast<float>(sum / static_cast<double>(plane)));
    }
    appended += static_cast<size_t>(channels);
  }
  if (appended != kSize) throw std::runtime_error("hm_liveness: unexpected layer sizes");
}

std::vector<float> liveness_features(const cv::Mat& chip, const LivenessNet& net) {
  std::vector<float> out = liveness_texture_features(chip);
  net.append(chip, out);
  return out;
}

std::vector<float> liveness_texture_features(const cv::Mat& chip) {
  CV_Assert(chip.type() == CV_8UC3 && chip.rows == kLivenessChip && chip.cols == kLivenessChip);
  cv::Mat ycrcb, hsv;
  cv::cvtColor(chip, ycrcb, cv::COLOR_BGR2YCrCb);
  cv::cvtColor(chip, hsv, cv::COLOR_BGR2HSV);
  std::vector<cv::Mat> channels(3), hsv_channels(3);
  cv::split(ycrcb, channels);
  cv::split(hsv, hsv_channels);
  channels.insert(channels.end(), hsv_channels.begin(), hsv_channels.end());  // Y Cr Cb H S V
  std::vector<float> out;
  const cv::Rect whole(0, 0, kLivenessChip, kLivenessChip);
  for (const cv::Mat& channel : channels) append_lbp(channel, whole, 1, out);
  append_lbp(channels[0], whole, 2, out);
  const int half = kLivenessChip / 2;
  for (int cell = 0; cell < 4; ++cell)
    append_lbp(channels[0], {(cell % 2) * half, (cell / 2) * half, half, half}, 1, out);
  for (const cv::Mat& channel : channels) append_moments(channel, out);
  append_frequency(channels[0], out);
  append_specular(hsv, channels[0], out);
  append_spectrum(channels[0], out);
  return out;
}

std::vector<std::string> liveness_feature_names() {
  std::vector<std::string> names;
  for (const Group& group : kGroups) {
    for (int i = 0; i < group.size; ++i) names.push_back(std::string(group.name) + "." + std::to_string(i));
  }
  return names;
}

namespace {

nlohmann::json read_head(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the liveness head " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("liveness head " + path.string() + " is not valid JSON: " + e.what());
  }
}

LinearLogit linear_logit(const nlohmann::json& doc, size_t size, const std::filesystem::path& path) {
  LinearLogit head{doc.at("mean").get<std::vector<double>>(), doc.at("scale").get<std::vector<double>>(),
                   doc.at("weights").get<std::vector<double>>(), doc.at("bias").get<double>()};
  if (head.mean.size() != size || head.scale.size() != size || head.weights.size() != size) {
    throw std::runtime_error(path.string() + ": mean, scale and weights must have one value per feature");
  }
  return head;
}

LinearLogit load_print_head(const nlohmann::json& doc, const std::filesystem::path& path) {
  std::vector<std::string> names = liveness_feature_names();
  if (doc.at("features").get<std::vector<std::string>>() != names) {
    throw std::runtime_error(path.string() + " was trained on another feature layout");
  }
  return linear_logit(doc, names.size(), path);
}

}  // namespace

double LinearLogit::logit(const std::vector<float>& features) const {
  if (features.size() != weights.size()) throw std::invalid_argument("liveness: wrong feature count");
  double sum = bias;
  for (size_t i = 0; i < features.size(); ++i) sum += weights[i] * (features[i] - mean[i]) / scale[i];
  return sum;
}

LivenessModel::LivenessModel(const std::filesystem::path& path, const std::filesystem::path& model_dir,
                             const std::string& landmark_model)
    : net_(model_dir), model_dir_(model_dir), landmark_model_(landmark_model) {
  const std::filesystem::path screen_path = path.parent_path() / "liveness_screen.json";
  const nlohmann::json print = read_head(path), screen = read_head(screen_path);
  try {
    print_ = load_print_head(print, path);
    default_threshold_ = print.value("default_threshold", 50.0);
    logit_limit_ = print.value("logit_limit", 30.0);
    const std::string pipeline = AttributeModel::pipeline_of(model_dir, landmark_model);
    if (screen.at("pipeline").get<std::string>() != pipeline) {
      throw std::runtime_error(screen_path.string() + " was trained on features '" +
                               screen.at("pipeline").get<std::string>() + "' but this engine computes '" + pipeline +
                               "'");
    }
    screen_inputs_ = screen.at("inputs").get<std::vector<std::string>>();
    for (const std::string& input : screen_inputs_) {
      if (!is_feature_region(input)) {
        throw std::runtime_error(screen_path.string() + ": unknown input " + input);
      }
    }
    screen_ = linear_logit(screen, screen.at("weights").size(), screen_path);
    version_ = print.at("version").get<std::string>() + "+" + screen.at("version").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("liveness heads " + path.string() + ", " + screen_path.string() + ": " + e.what());
  }
}

LivenessModel::~LivenessModel() = default;

double LivenessModel::screen_logit(const AttributeFeatures& features) const {
  std::vector<float> joined;
  for (const std::string& input : screen_inputs_) {
    const std::vector<float>& part = features.get(input);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  return screen_.logit(joined);
}

double LivenessModel::fuse(double print_logit, double screen_logit) const {
  const double logit = std::clamp(std::min(print_logit, screen_logit), -logit_limit_, logit_limit_);
  return 100.0 / (1.0 + std::exp(-logit));
}

double LivenessModel::score(const std::vector<float>& features, const AttributeFeatures& screen) const {
  return fuse(print_logit(features), screen_logit(screen));
}

double LivenessModel::score_chip(const cv::Mat& chip, const AttributeFeatures& screen) const {
  return score(liveness_features(chip, net_), screen);
}

AttributeFeatures LivenessModel::screen_features(const cv::Mat& bgr, const Landmarks68& landmarks) const {
  std::lock_guard<std::mutex> lock(backbone_mutex_);
  if (!backbone_) backbone_ = std::make_unique<AttributeModel>(model_dir_, landmark_model_, std::filesystem::path());
  return backbone_->features(bgr, landmarks);
}

}  // namespace faceauth
