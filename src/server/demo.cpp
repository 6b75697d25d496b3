#include "server/demo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceauth {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the demo photo " + path.string() + "; run scripts/setup.sh");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_private(const std::filesystem::path& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path.string());
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::fchmod(fd, 0600);
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path.string());
}

// The photo around face `index`, the other faces blacked out, as a JPEG file.
void write_face_crop(const cv::Mat& photo, const std::vector<FaceBox>& faces, size_t index,
                     const std::filesystem::path& path) {
  cv::Mat alone = photo.clone();
  for (size_t i = 0; i < faces.size(); ++i) {
    if (i != index) cv::rectangle(alone, faces[i].box, cv::Scalar::all(0), cv::FILLED);
  }
  const cv::Rect2f& box = faces[index].box;
  cv::Rect crop(cvRound(box.x - box.width), cvRound(box.y - box.height), cvRound(box.width * 3),
                cvRound(box.height * 3));
  crop &= cv::Rect(0, 0, photo.cols, photo.rows);
  cv::imwrite(path.string(), alone(crop), {cv::IMWRITE_JPEG_QUALITY, 88});
}

std::string curl(const std::string& base_url, const std::string& key, const std::string& submission,
                 const std::filesystem::path& image) {
  return "curl -s -X POST " + base_url + "/v3/faceauth -H 'x-api-key: " + key + "' -F 'submissionId=" + submission +
         "' -F 'faceImage=@" + image.string() + "'";
}

}  // namespace

std::string create_demo(FaceAuthService& service, EnginePool& engines, const DemoSetup& setup) {
  std::string photo = read_all(setup.photo);
  Outcome kyc = service.create_kyc_project({{"name", "Demo KYC project"}});
  std::string kyc_id = kyc.body["project"]["id"];
  Outcome door = service.create_faceauth_project({{"kyc_project_id", kyc_id}, {"name", "Demo door"}});
  Outcome submission = service.create_submission(kyc_id, {photo, {}, "demo-user", "", "", "", "", ""});
  if (submission.error)
    throw std::runtime_error("the demo photo gave " + std::string(api_error_name(submission.error->code)));
  std::string submission_id = submission.body["submissionId"];
  service.set_submission_status(kyc_id, submission_id, SubmissionStatus::approved);

  // Decoded from the bytes already read: the photo is read once (it may be a pipe).
  cv::Mat raw(1, static_cast<int>(photo.size()), CV_8UC1, photo.data());
  cv::Mat pixels = cv::imdecode(raw, cv::IMREAD_COLOR);
  EnginePool::Lease engine = engines.acquire(std::chrono::seconds(30));
  auto analysis =
      engine->analyze(std::span(reinterpret_cast<const uint8_t*>(photo.data()), photo.size()), Stages::detect);
  if (!analysis || analysis->faces.size() < 2) throw std::runtime_error("the demo photo needs two faces");
  std::filesystem::path same = setup.data_dir / "demo-selfie.jpg", other = setup.data_dir / "demo-other-person.jpg";
  write_face_crop(pixels, analysis->faces, 0, same);
  write_face_crop(pixels, analysis->faces, 1, other);

  std::string addon_key = door.body["addon_key"];
  nlohmann::json demo = {{"admin_token", setup.admin_token},
                         {"kyc_key", kyc.body["kyc_key"]},
                         {"addon_key", addon_key},
                         {"submission_id", submission_id},
                         {"base_url", setup.base_url},
                         {"kyc_project_id", kyc_id},
                         {"faceauth_project_id", door.body["project"]["id"]},
                         {"selfie", same.string()},
                         {"other_person", other.string()},
                         {"dashboard_url", setup.base_url + "/dashboard/"},
                         {"dashboard_user", "owner"},
                         {"dashboard_password", setup.owner_password}};
  write_private(setup.data_dir / "demo.json", demo.dump(2) + "\n");
  return "demo project created; keys are in " + (setup.data_dir / "demo.json").string() +
         "\n  the same person (approved):\n    " + curl(setup.base_url, addon_key, submission_id, same) +
         "\n  someone else (rejected, face_compare_underscore):\n    " +
         curl(setup.base_url, addon_key, submission_id, other) + "\n";
}

}  // namespace faceauth
