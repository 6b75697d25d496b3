#pragma once
// The built dashboard (dashboard/dist), compiled into the binary: CMake turns every file of
// dist into bytes of a generated .cpp (cmake/embed_dashboard.cmake). Empty when the dashboard
// was not built before cmake ran.

#include <cstddef>
#include <string_view>
#include <vector>

namespace faceauth {

struct EmbeddedFile {
  std::string_view path;  // relative to dist, '/' separated: "index.html", "assets/app-1a2b3c4d.js"
  std::string_view data;
};

const std::vector<EmbeddedFile>& dashboard_files();

}  // namespace faceauth
