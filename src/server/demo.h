#pragma once
// First run: a demo KYC project, a FaceAuth project and one approved submission made from a
// face-api demo photo, plus two selfies cut from it (the same person, someone else), so a
// new user gets `approved` and `rejected` from two curl commands.

#include <filesystem>
#include <string>

#include "api/service.h"

namespace faceauth {

struct DemoSetup {
  std::filesystem::path data_dir;
  std::filesystem::path photo;  // a group photo with at least two faces
  std::string base_url;
  std::string admin_token;     // "" when it was not made in this start
  std::string owner_password;  // the dashboard owner's, "" when it was not made in this start
};

// Creates the demo and writes DATA_DIR/demo.json (mode 0600); returns the curl commands to
// print. Throws std::runtime_error when the photo cannot be used.
std::string create_demo(FaceAuthService& service, EnginePool& engines, const DemoSetup& setup);

}  // namespace faceauth
