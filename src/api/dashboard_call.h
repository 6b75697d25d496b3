#pragma once
// One request in DashboardRouter (private to dashboard_routes.cpp and dashboard_admin.cpp).

#include "api/dashboard_routes.h"

namespace faceauth {

struct DashboardRouter::Call {
  const HttpRequest& request;
  std::string request_id;
  std::vector<std::string> segments;
  std::optional<Principal> who;
  std::string audit_actor;  // for sign-in: the name tried
};

}  // namespace faceauth
