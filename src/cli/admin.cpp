// faceauth admin: the management API of a running faceauthd (docs/openapi.yaml), with the
// admin token. Prints the server's JSON pretty-printed; an HTTP error prints its body on
// stderr and exits 1.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "store/migrate_store.h"
#include "store/store.h"

namespace faceauth {
namespace {

constexpr const char* kAdminUsage =
    R"(usage: faceauth admin GROUP ACTION ... [--url URL] [--token TOKEN | --demo-json FILE]
  kyc create NAME [--webhook URL]
  kyc list
  kyc rotate-key KYC_ID
  faceauth create KYC_ID NAME [--retention-days N] [--policy JSON]
  faceauth list [--kyc KYC_ID]
  faceauth show|rotate-key ID
  policy get ID
  policy set ID [--similarity N] [--retention-days N] [--lockout-failures N] [--lockout-window S]
             [--lockout-seconds S] [--json JSON]     lockout: N failed face comparisons within S s
                                                     lock a submission for S s; failures 0 = off
  submission create KYC_ID [--selfie FILE] [--id-image FILE] [--user-id U] [--email E]
                    [--cf1 V] [--cf2 V] [--cf3 V] [--approve]
  submission list KYC_ID [--status pending|approved|rejected] [--user-id U] [--limit N] [--after ID]
  submission show|approve|reject|delete KYC_ID SUBMISSION_ID
  submission import KYC_ID DIR [--approve]
                    one submission per jpg/jpeg/png/webp/bmp file of DIR, userId = the file name
                    without extension; one JSON line per file; exit 1 when any failed
  webhook set KYC_ID URL [--secret S]   http:// URL; the secret is made and shown once unless given
  webhook show|delete KYC_ID
  webhook deliveries KYC_ID [--after SEQ] [--limit N]   the delivery log, oldest first
  migrate-store --from sqlite:PATH --to postgresql://...
                    copies a stopped node's SQLite database into PostgreSQL (every table),
                    verifies each table's rows and SHA-256 on both sides; safe to re-run;
                    one JSON line per table; exit 1 when any table differs (docs/deploy.md)
  lockout show FACEAUTH_ID SUBMISSION_ID      lock state and counted failures of a submission
  lockout unlock FACEAUTH_ID SUBMISSION_ID    ends its lock and restarts its failure count
  lockout events FACEAUTH_ID [--after SEQ] [--limit N]   the lock/unlock log, oldest first
  user add NAME [--role owner|admin|viewer] [--password-stdin]
                    a dashboard user (default role viewer); the password is made and shown
                    once unless --password-stdin reads it (10-256 characters) from stdin
  user list
  user reset NAME [--password-stdin]     a new password; ends the user's sessions
  user remove NAME                       removes the user and ends its sessions
  audit [--actor NAME] [--action TEXT] [--limit N] [--before SEQ]   the audit log, newest first
--url: default the base_url of --demo-json, else $FACEAUTH_URL, else http://127.0.0.1:8080 (http:// only)
--token: default the admin_token of --demo-json (faceauthd's DATA_DIR/demo.json), else $FACEAUTH_ADMIN_TOKEN
)";

const std::string kApi = "/admin/v1";

void expect_positional(const Args& args, size_t count) {
  if (args.positional.size() != count) throw std::invalid_argument(kAdminUsage);
}

std::string kyc_path(const std::string& id) { return kApi + "/kyc-projects/" + url_encode(id); }
std::string faceauth_path(const std::string& id) { return kApi + "/faceauth-projects/" + url_encode(id); }
std::string submission_path(const std::string& kyc_id, const std::string& id) {
  return kyc_path(kyc_id) + "/submissions/" + url_encode(id);
}

nlohmann::json json_option(const Args& args, const std::string& name) {
  nlohmann::json doc = nlohmann::json::parse(args.get(name, "{}"), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw std::invalid_argument("--" + name + " must be a JSON object");
  return doc;
}

nlohmann::json parse_body(const AdminReply& reply) { return nlohmann::json::parse(reply.body, nullptr, false); }

// A string field of a JSON object reply; "" when there is none.
std::string reply_field(const AdminReply& reply, const char* name) {
  nlohmann::json doc = parse_body(reply);
  if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return "";
  return doc[name].get<std::string>();
}

// The body pretty-printed on stdout, or on stderr when the status is not 2xx.
int print_reply(const AdminReply& reply) {
  nlohmann::json doc = parse_body(reply);
  std::string text = doc.is_discarded() ? reply.body : doc.dump(2);
  if (!reply.ok()) {
    std::cerr << "HTTP " << reply.status << "\n" << text << "\n";
    return 1;
  }
  std::cout << text << "\n";
  return 0;
}

int send_json(const AdminServer& server, const std::string& method, const std::string& path,
              const nlohmann::json& body) {
  return print_reply(admin_call(server, method, path, body.dump()));
}

int kyc_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "create") {
    expect_positional(args, 3);
    nlohmann::json body = {{"name", args.positional[2]}};
    if (!args.get("webhook").empty()) body["webhook_url"] = args.get("webhook");
    return send_json(server, "POST", kApi + "/kyc-projects", body);
  }
  if (action == "list") {
    expect_positional(args, 2);
    return print_reply(admin_call(server, "GET", kApi + "/kyc-projects"));
  }
  if (action == "rotate-key") {
    expect_positional(args, 3);
    return print_reply(admin_call(server, "POST", kyc_path(args.positional[2]) + "/rotate-key"));
  }
  throw std::invalid_argument(kAdminUsage);
}

int faceauth_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "create") {
    expect_positional(args, 4);
    nlohmann::json body = {{"kyc_project_id", args.positional[2]}, {"name", args.positional[3]}};
    if (!args.get("policy").empty()) body["policy"] = json_option(args, "policy");
    if (!args.get("retention-days").empty()) body["image_retention_days"] = args.get_int("retention-days", 0);
    return send_json(server, "POST", kApi + "/faceauth-projects", body);
  }
  if (action == "list") {
    expect_positional(args, 2);
    std::string query = query_string({{"kyc_project_id", args.get("kyc")}});
    return print_reply(admin_call(server, "GET", kApi + "/faceauth-projects" + query));
  }
  if (action == "show" || action == "rotate-key") {
    expect_positional(args, 3);
    std::string path = faceauth_path(args.positional[2]);
    if (action == "show") return print_reply(admin_call(server, "GET", path));
    return print_reply(admin_call(server, "POST", path + "/rotate-key"));
  }
  throw std::invalid_argument(kAdminUsage);
}

int policy_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  expect_positional(args, 3);
  std::string path = faceauth_path(args.positional[2]) + "/policy";
  if (action == "get") return print_reply(admin_call(server, "GET", path));
  if (action != "set") throw std::invalid_argument(kAdminUsage);
  nlohmann::json body = json_option(args, "json");
  if (!args.get("similarity").empty()) {
    nlohmann::json& policy = body.contains("policy") ? body["policy"] : body;
    policy["faceSimilarity_threshold"] = std::stod(args.get("similarity"));
  }
  if (!args.get("retention-days").empty()) body["image_retention_days"] = args.get_int("retention-days", 0);
  const std::pair<const char*, const char*> lockout[] = {
      {"lockout-failures", "failures"}, {"lockout-window", "window_seconds"}, {"lockout-seconds", "lock_seconds"}};
  for (const auto& [option, field] : lockout) {
    if (args.get(option).empty()) continue;
    nlohmann::json& policy = body.contains("policy") ? body["policy"] : body;
    policy["lockout"][field] = args.get_int(option, 0);
  }
  if (body.empty()) {
    throw std::invalid_argument("policy set needs --similarity, --retention-days, --lockout-... or --json");
  }
  return send_json(server, "PUT", path, body);
}

// POST a submission as multipart/form-data; `parts` holds the images and text fields.
AdminReply post_submission(const AdminServer& server, const std::string& kyc_id, const std::vector<FormPart>& parts) {
  auto [content_type, body] = multipart_form(parts);
  return admin_call(server, "POST", kyc_path(kyc_id) + "/submissions", body, content_type);
}

std::string read_file_text(const std::string& path) {
  std::vector<uint8_t> bytes = read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

std::vector<FormPart> submission_form(const Args& args) {
  std::vector<FormPart> parts;
  const std::pair<const char*, const char*> files[] = {{"selfie", "selfieImage"}, {"id-image", "idImage"}};
  for (const auto& [option, field] : files) {
    std::string path = args.get(option);
    if (!path.empty()) parts.push_back({field, read_file_text(path), std::filesystem::path(path).filename().string()});
  }
  const std::pair<const char*, const char*> texts[] = {
      {"user-id", "userId"}, {"email", "email"}, {"cf1", "cf1"}, {"cf2", "cf2"}, {"cf3", "cf3"}};
  for (const auto& [option, field] : texts) {
    if (!args.get(option).empty()) parts.push_back({field, args.get(option), ""});
  }
  return parts;
}

// Approves the submission of a 2xx creation reply; returns the approval's reply.
AdminReply approve_created(const AdminServer& server, const std::string& kyc_id, const AdminReply& created) {
  std::string id = reply_field(created, "submissionId");
  if (id.empty()) throw std::runtime_error("the server's reply has no submissionId: " + created.body);
  return admin_call(server, "POST", submission_path(kyc_id, id) + "/approve");
}

int submission_create(const AdminServer& server, const Args& args) {
  expect_positional(args, 3);
  std::vector<FormPart> parts = submission_form(args);
  AdminReply reply = post_submission(server, args.positional[2], parts);
  if (reply.ok() && !args.get("approve").empty()) reply = approve_created(server, args.positional[2], reply);
  return print_reply(reply);
}

int submission_list(const AdminServer& server, const Args& args) {
  expect_positional(args, 3);
  std::string query = query_string({{"status", args.get("status")},
                                    {"userId", args.get("user-id")},
                                    {"limit", args.get("limit")},
                                    {"after", args.get("after")}});
  return print_reply(admin_call(server, "GET", kyc_path(args.positional[2]) + "/submissions" + query));
}

int submission_one(const AdminServer& server, const Args& args, const std::string& action) {
  expect_positional(args, 4);
  std::string path = submission_path(args.positional[2], args.positional[3]);
  if (action == "show") return print_reply(admin_call(server, "GET", path));
  if (action == "delete") return print_reply(admin_call(server, "DELETE", path));
  return print_reply(admin_call(server, "POST", path + "/" + action));
}

bool is_image_file(const std::filesystem::directory_entry& entry) {
  std::string ext = entry.path().extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return entry.is_regular_file() &&
         (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp");
}

// Adds the error of a non-2xx reply to an import line.
void add_error(nlohmann::json& line, const AdminReply& reply) {
  std::string code = reply_field(reply, "errorCode");
  line["error"] = code.empty() ? "http_" + std::to_string(reply.status) : code;
  line["message"] = code.empty() ? reply.body : reply_field(reply, "message");
  line["httpStatus"] = reply.status;
}

// One line of `submission import`: the file, its userId, and the submissionId or the error.
nlohmann::json import_one(const AdminServer& server, const std::string& kyc_id, const std::filesystem::path& file,
                          bool approve) {
  nlohmann::json line = {{"file", file.filename().string()}, {"userId", file.stem().string()}};
  try {
    std::vector<FormPart> parts = {{"selfieImage", read_file_text(file.string()), file.filename().string()},
                                   {"userId", file.stem().string(), ""}};
    AdminReply reply = post_submission(server, kyc_id, parts);
    if (reply.ok()) {
      line["submissionId"] = reply_field(reply, "submissionId");
      if (approve) reply = approve_created(server, kyc_id, reply);
    }
    if (reply.ok()) line["status"] = reply_field(reply, "status");
    if (!reply.ok()) add_error(line, reply);
  } catch (const std::runtime_error& e) {
    line["error"] = "client_error";
    line["message"] = e.what();
  }
  return line;
}

int submission_import(const AdminServer& server, const Args& args) {
  expect_positional(args, 4);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(args.positional[3])) {
    if (is_image_file(entry)) {
      files.push_back(entry.path());
    } else {
      std::cerr << "skipping " << entry.path().string() << ": not a jpg/jpeg/png/webp/bmp file\n";
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no jpg/jpeg/png/webp/bmp files in " + args.positional[3]);
  int failed = 0;
  for (const std::filesystem::path& file : files) {
    nlohmann::json line = import_one(server, args.positional[2], file, !args.get("approve").empty());
    failed += line.contains("error") ? 1 : 0;
    std::cout << line.dump() << std::endl;
  }
  return failed ? 1 : 0;
}

int webhook_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "set") {
    expect_positional(args, 4);
    nlohmann::json body = {{"url", args.positional[3]}};
    if (!args.get("secret").empty()) body["secret"] = args.get("secret");
    return send_json(server, "PUT", kyc_path(args.positional[2]) + "/webhook", body);
  }
  expect_positional(args, 3);
  std::string path = kyc_path(args.positional[2]) + "/webhook";
  if (action == "show") return print_reply(admin_call(server, "GET", path));
  if (action == "delete") return print_reply(admin_call(server, "DELETE", path));
  if (action == "deliveries") {
    std::string query = query_string({{"after", args.get("after")}, {"limit", args.get("limit")}});
    return print_reply(admin_call(server, "GET", path + "/deliveries" + query));
  }
  throw std::invalid_argument(kAdminUsage);
}

int lockout_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "events") {
    expect_positional(args, 3);
    std::string query = query_string({{"after", args.get("after")}, {"limit", args.get("limit")}});
    return print_reply(admin_call(server, "GET", faceauth_path(args.positional[2]) + "/lockout-events" + query));
  }
  expect_positional(args, 4);
  std::string path = faceauth_path(args.positional[2]) + "/lockouts/" + url_encode(args.positional[3]);
  if (action == "show") return print_reply(admin_call(server, "GET", path));
  if (action == "unlock") return print_reply(admin_call(server, "DELETE", path));
  throw std::invalid_argument(kAdminUsage);
}

std::string user_path(const std::string& name) { return kApi + "/users/" + url_encode(name); }

// {"password": the first line of stdin} with --password-stdin, else {} (the server makes one).
nlohmann::json password_body(const Args& args) {
  nlohmann::json body = nlohmann::json::object();
  if (args.get("password-stdin").empty()) return body;
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  body["password"] = line;
  return body;
}

int user_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "list") return print_reply(admin_call(server, "GET", kApi + "/users"));
  expect_positional(args, 3);
  const std::string& name = args.positional[2];
  if (action == "add") {
    nlohmann::json body = password_body(args);
    body["name"] = name;
    body["role"] = args.get("role", "viewer");
    return send_json(server, "POST", kApi + "/users", body);
  }
  if (action == "reset") return send_json(server, "POST", user_path(name) + "/reset-password", password_body(args));
  if (action == "remove") return print_reply(admin_call(server, "DELETE", user_path(name)));
  throw std::invalid_argument(kAdminUsage);
}

int audit_command(const AdminServer& server, const Args& args) {
  std::string query = query_string({{"actor", args.get("actor")},
                                    {"action", args.get("action")},
                                    {"limit", args.get("limit")},
                                    {"before", args.get("before")}});
  return print_reply(admin_call(server, "GET", kApi + "/audit" + query));
}

int submission_command(const AdminServer& server, const Args& args) {
  const std::string& action = args.positional[1];
  if (action == "create") return submission_create(server, args);
  if (action == "list") return submission_list(server, args);
  if (action == "import") return submission_import(server, args);
  if (action == "show" || action == "approve" || action == "reject" || action == "delete") {
    return submission_one(server, args, action);
  }
  throw std::invalid_argument(kAdminUsage);
}

// Works on the databases directly, not through a server.
int migrate_store_command(const Args& args) {
  const std::string from = args.get("from"), to = args.get("to");
  if (from.rfind("sqlite:", 0) != 0 || from.size() <= 7 || !is_postgres_url(to)) {
    throw std::invalid_argument("usage: faceauth admin migrate-store --from sqlite:PATH --to postgresql://...");
  }
  bool same = true;
  for (const TableCopy& t : migrate_sqlite_to_postgres(from.substr(7), to)) {
    nlohmann::ordered_json line = {{"table", t.table},
                                   {"sqlite_rows", t.source_rows},
                                   {"postgres_rows", t.target_rows},
                                   {"sqlite_sha256", t.source_sha256},
                                   {"postgres_sha256", t.target_sha256},
                                   {"same", t.same()}};
    std::cout << line.dump() << "\n";
    same = same && t.same();
  }
  std::cout << std::flush;
  return same ? 0 : 1;
}

}  // namespace

int cmd_admin(const Args& args) {
  if (!args.get("help").empty()) {
    std::cout << kAdminUsage;
    return 0;
  }
  if (!args.positional.empty() && args.positional[0] == "migrate-store") return migrate_store_command(args);
  if (args.positional.size() == 1 && args.positional[0] == "audit") return audit_command(admin_server(args), args);
  if (args.positional.size() < 2) throw std::invalid_argument(kAdminUsage);
  const std::string& group = args.positional[0];
  if (group != "kyc" && group != "faceauth" && group != "policy" && group != "submission" && group != "webhook" &&
      group != "lockout" && group != "user") {
    throw std::invalid_argument(kAdminUsage);
  }
  AdminServer server = admin_server(args);
  if (group == "user") return user_command(server, args);
  if (group == "kyc") return kyc_command(server, args);
  if (group == "faceauth") return faceauth_command(server, args);
  if (group == "policy") return policy_command(server, args);
  if (group == "webhook") return webhook_command(server, args);
  if (group == "lockout") return lockout_command(server, args);
  return submission_command(server, args);
}

}  // namespace faceauth
