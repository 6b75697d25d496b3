// FaceAuthService: attempt history (GET /v3/faceauth), image retrieval (GET
// /v3/faceauth/image) and purge (DELETE /v3/faceauth), scoped to the add-on key's project.
#include <sodium.h>

#include <chrono>

#include "api/service.h"

namespace faceauth {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int kMaxCount = 2000;

// Digits only, within [low, high]; nothing otherwise.
std::optional<int64_t> parse_number(std::string_view text, int64_t low, int64_t high) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return std::nullopt;
  return value;
}

// Milliseconds at 00:00 UTC of a yyyy-mm-dd day; nothing when malformed or not a real day.
std::optional<int64_t> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto y = parse_number(text.substr(0, 4), 1970, 9999);
  auto m = parse_number(text.substr(5, 2), 1, 12);
  auto d = parse_number(text.substr(8, 2), 1, 31);
  if (!y || !m || !d) return std::nullopt;
  std::chrono::year_month_day day{std::chrono::year{static_cast<int>(*y)},
                                  std::chrono::month{static_cast<unsigned>(*m)},
                                  std::chrono::day{static_cast<unsigned>(*d)}};
  if (!day.ok()) return std::nullopt;
  return std::chrono::sys_days(day).time_since_epoch().count() * kDayMs;
}

// The inverse of iso_time: yyyy-mm-ddThh:mm:ss.mmmZ.
std::optional<int64_t> parse_time(std::string_view text) {
  if (text.size() != 24 || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != '.' ||
      text[23] != 'Z') {
    return std::nullopt;
  }
  auto day = parse_day(text.substr(0, 10));
  auto h = parse_number(text.substr(11, 2), 0, 23);
  auto m = parse_number(text.substr(14, 2), 0, 59);
  auto s = parse_number(text.substr(17, 2), 0, 59);
  auto ms = parse_number(text.substr(20, 3), 0, 999);
  if (!day || !h || !m || !s || !ms) return std::nullopt;
  return *day + ((*h * 60 + *m) * 60 + *s) * 1000 + *ms;
}

nlohmann::ordered_json parsed(const std::string& text) {
  nlohmann::ordered_json value = nlohmann::ordered_json::parse(text, nullptr, false);
  return value.is_discarded() ? nlohmann::ordered_json() : value;
}

// One record in the vendor's field names, plus ours: image_status, and quality (the
// measurements, kept with the scores in the store) when they were measured.
nlohmann::ordered_json attempt_json(const Attempt& a) {
  nlohmann::ordered_json result = parsed(a.scores_json);
  nlohmann::ordered_json quality = nullptr;
  if (result.is_object() && result.contains("quality")) {
    quality = result["quality"];
    result.erase("quality");
  }
  nlohmann::ordered_json record = {{"faceAuth_projectId", a.faceauth_project_id},
                                   {"policy", parsed(a.policy_json)},
                                   {"auth_id", a.id},
                                   {"auth_status", a.approved ? "approved" : "rejected"},
                                   {"create_time", iso_time(a.created_ms)},
                                   {"submit_type", "api"},
                                   {"kyc_submission_id", a.submission_id},
                                   {"delete_check", a.delete_check},
                                   {"result", result},
                                   {"fail_code", parsed(a.fail_codes_json)},
                                   {"reject_comment", parsed(a.comments_json)},
                                   {"userId", a.user_id},
                                   {"cf1", a.cf1},
                                   {"cf2", a.cf2},
                                   {"cf3", a.cf3},
                                   {"image_status", a.image_state}};
  if (!quality.is_null()) record["quality"] = quality;
  return record;
}

bool plain_auth_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

std::string base64(const Bytes& bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// The range and page of a list request, or the error of a bad parameter.
struct ListRange {
  std::optional<ApiErrorCode> error;
  std::string message;
  AttemptQuery query;
};

ListRange list_range(const HistoryInput& input) {
  ListRange range;
  auto fail = [&range](ApiErrorCode code, const char* message) {
    range.error = code;
    range.message = message;
    return range;
  };
  if (!input.start_date || !input.end_date) {
    return fail(ApiErrorCode::required_field_missing, "authId, or startDate and endDate, is required");
  }
  auto start = parse_day(*input.start_date), end = parse_day(*input.end_date);
  if (!start || !end) return fail(ApiErrorCode::invalid_data_format, "startDate and endDate are yyyy-mm-dd (UTC)");
  if (*end < *start) return fail(ApiErrorCode::invalid_data_format, "endDate is before startDate");
  range.query.from_ms = *start;
  range.query.to_ms = *end + kDayMs;
  range.query.limit = kMaxCount;
  if (input.count) {
    auto count = parse_number(*input.count, 1, kMaxCount);
    if (!count) return fail(ApiErrorCode::invalid_data_format, "count is a whole number from 1 to 2000");
    range.query.limit = static_cast<int>(*count);
  }
  if (input.next_id.has_value() != input.next_date.has_value()) {
    return fail(ApiErrorCode::required_field_missing, "nextKey_id and nextKey_date go together");
  }
  if (input.next_id) {
    auto after = parse_time(*input.next_date);
    if (!after || !plain_auth_id(*input.next_id)) {
      return fail(ApiErrorCode::invalid_data_format, "nextKey_id and nextKey_date must come from nextPage_key");
    }
    range.query.after = std::make_pair(*after, *input.next_id);
  }
  return range;
}

}  // namespace

Outcome FaceAuthService::list_attempts(const HistoryInput& input) {
  std::optional<ApiKey> key = resolve_key(input.api_key, KeyKind::addon);
  if (!key) return Outcome::fail(ApiErrorCode::Invalid_projectId);
  if (input.auth_id) {
    std::optional<Attempt> attempt =
        plain_auth_id(*input.auth_id) ? store_.get_attempt(key->project_id, *input.auth_id) : std::nullopt;
    if (!attempt) return Outcome::fail(ApiErrorCode::Invalid_authId);
    return Outcome::ok({{"data", nlohmann::ordered_json::array({attempt_json(*attempt)})}});
  }
  ListRange range = list_range(input);
  if (range.error) return Outcome::fail(*range.error, range.message);
  range.query.faceauth_project_id = key->project_id;
  const int wanted = range.query.limit;
  range.query.limit = wanted + 1;  // one more tells whether another page remains
  std::vector<Attempt> page = store_.list_attempts(range.query);
  bool more = static_cast<int>(page.size()) > wanted;
  if (more) page.resize(static_cast<size_t>(wanted));
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const Attempt& attempt : page) items.push_back(attempt_json(attempt));
  nlohmann::ordered_json body = {{"data", items}};
  if (more) {
    body["nextPage_key"] = {{"nextKey_id", page.back().id}, {"nextKey_date", iso_time(page.back().created_ms)}};
  }
  return Outcome::ok(body);
}

Outcome FaceAuthService::attempt_image(const std::string& api_key, const std::optional<std::string>& auth_id) {
  std::optional<ApiKey> key = resolve_key(api_key, KeyKind::addon);
  if (!key) return Outcome::fail(ApiErrorCode::Invalid_projectId);
  if (!auth_id || auth_id->empty()) return Outcome::fail(ApiErrorCode::required_field_missing, "authId is required");
  std::optional<Attempt> attempt =
      plain_auth_id(*auth_id) ? store_.get_attempt(key->project_id, *auth_id) : std::nullopt;
  if (!attempt || attempt->image_sealed.empty()) return Outcome::fail(ApiErrorCode::Invalid_authId);
  std::optional<Bytes> image = sealer_.open(attempt->image_sealed);
  if (!image) return Outcome::fail(ApiErrorCode::data_processing_error, "The stored image cannot be read");
  nlohmann::ordered_json body = {{"auth_id", attempt->id}, {"faceImage", base64(*image)}};
  sodium_memzero(image->data(), image->size());
  return Outcome::ok(body);
}

Outcome FaceAuthService::delete_attempt(const std::string& api_key, const std::optional<std::string>& auth_id) {
  std::optional<ApiKey> key = resolve_key(api_key, KeyKind::addon);
  if (!key) return Outcome::fail(ApiErrorCode::Invalid_projectId);
  if (!auth_id || auth_id->empty()) return Outcome::fail(ApiErrorCode::required_field_missing, "authId is required");
  if (!plain_auth_id(*auth_id) || !store_.purge_attempt(key->project_id, *auth_id)) {
    return Outcome::fail(ApiErrorCode::Invalid_authId);
  }
  return Outcome::ok({{"message", "success"}});
}

}  // namespace faceauth
