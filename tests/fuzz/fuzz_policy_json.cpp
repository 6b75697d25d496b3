// libFuzzer target: the JSON bodies of the admin API and the dashboard (a project's policy, its
// names). Input: any bytes, read as JSON as the routers read a body. Checks: a policy is either
// refused with std::invalid_argument (400 invalid_data_format) or accepted, and an accepted one
// reads back as itself from its own JSON; a name is refused with std::invalid_argument or is
// valid text of at most 256 bytes. Any other exception escapes and is a finding (it would be a
// 500 for a client's mistake).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "api/service.h"
#include "http/text.h"
#include "policy/policy.h"

namespace {

void check_policy(const nlohmann::json& doc) {
  faceauth::Policy policy;
  try {
    policy = faceauth::policy_from_json(doc);
  } catch (const std::invalid_argument&) {
    return;
  }
  const nlohmann::json written = faceauth::policy_json(policy);
  if (faceauth::policy_json(faceauth::policy_from_json(written)) != written) __builtin_trap();
  (void)faceauth::policy_from_json(doc, policy);  // over a base: the same rule
}

void check_name(const nlohmann::json& doc, bool required) {
  try {
    const std::string name = faceauth::text_field(doc, "name", required);
    if (name.size() > 256 || !faceauth::is_valid_text(name) || (required && name.empty())) __builtin_trap();
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return 0;
  check_policy(doc);
  if (doc.is_object() && doc.contains("policy")) check_policy(doc.at("policy"));
  check_name(doc, true);
  check_name(doc, false);
  return 0;
}
