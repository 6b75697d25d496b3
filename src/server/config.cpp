#include "server/config.h"

#include "http/client_address.h"
#include "vision/face/aligner.h"
#include "vision/face/embedder.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>

namespace faceauth {
namespace {

using Setter = std::function<void(DaemonConfig&, const std::string&)>;

int to_int(const std::string& name, const std::string& value, int low, int high) {
  size_t used = 0;
  int number = 0;
  try {
    number = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || number < low || number > high) {
    throw std::invalid_argument(name + " must be a whole number from " + std::to_string(low) + " to " +
                                std::to_string(high));
  }
  return number;
}

bool to_bool(const std::string& name, const std::string& value) {
  if (value == "1" || value == "true" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "false" || value == "no" || value == "off") return false;
  throw std::invalid_argument(name + " must be true or false");
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"data-dir", [](DaemonConfig& c, const std::string& v) { c.data_dir = v; }},
      {"database", [](DaemonConfig& c, const std::string& v) { c.database = v; }},
      {"database-pool",
       [](DaemonConfig& c, const std::string& v) { c.database_pool = to_int("database-pool", v, 1, 1000); }},
      {"webhook-lease-ms",
       [](DaemonConfig& c, const std::string& v) { c.webhook_lease_ms = to_int("webhook-lease-ms", v, 100, 3600000); }},
      {"bind", [](DaemonConfig& c, const std::string& v) { c.bind = v; }},
      {"port", [](DaemonConfig& c, const std::string& v) { c.port = to_int("port", v, 0, 65535); }},
      {"workers", [](DaemonConfig& c, const std::string& v) { c.workers = to_int("workers", v, 0, 256); }},
      {"engine-wait-ms",
       [](DaemonConfig& c, const std::string& v) { c.engine_wait_ms = to_int("engine-wait-ms", v, 1, 600000); }},
      {"max-body-mb", [](DaemonConfig& c, const std::string& v) { c.max_body_mb = to_int("max-body-mb", v, 1, 1024); }},
      {"read-timeout-ms",
       [](DaemonConfig& c, const std::string& v) { c.read_timeout_ms = to_int("read-timeout-ms", v, 100, 600000); }},
      {"idle-timeout-ms",
       [](DaemonConfig& c, const std::string& v) { c.idle_timeout_ms = to_int("idle-timeout-ms", v, 100, 3600000); }},
      {"engine-queue",
       [](DaemonConfig& c, const std::string& v) { c.engine_queue = to_int("engine-queue", v, 0, 100000); }},
      {"header-timeout-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.header_timeout_ms = to_int("header-timeout-ms", v, 100, 600000);
       }},
      {"min-body-bytes-per-second",
       [](DaemonConfig& c, const std::string& v) {
         c.min_body_bytes_per_second = to_int("min-body-bytes-per-second", v, 0, 1000000000);
       }},
      {"body-rate-grace-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.body_rate_grace_ms = to_int("body-rate-grace-ms", v, 0, 600000);
       }},
      {"max-connections",
       [](DaemonConfig& c, const std::string& v) { c.max_connections = to_int("max-connections", v, 1, 1000000); }},
      {"max-connections-per-address",
       [](DaemonConfig& c, const std::string& v) {
         c.max_connections_per_address = to_int("max-connections-per-address", v, 0, 1000000);
       }},
      {"max-requests-per-connection",
       [](DaemonConfig& c, const std::string& v) {
         c.max_requests_per_connection = to_int("max-requests-per-connection", v, 0, 100000000);
       }},
      {"io-threads", [](DaemonConfig& c, const std::string& v) { c.io_threads = to_int("io-threads", v, 1, 64); }},
      {"handler-threads",
       [](DaemonConfig& c, const std::string& v) { c.handler_threads = to_int("handler-threads", v, 0, 4096); }},
      {"trusted-proxies",
       [](DaemonConfig& c, const std::string& v) {
         TrustedProxies::parse(v);  // refuses a bad entry now
         c.trusted_proxies = v;
       }},
      {"rate-limit-per-minute",
       [](DaemonConfig& c, const std::string& v) {
         c.rate_limit_per_minute = to_int("rate-limit-per-minute", v, 0, 10000000);
       }},
      {"rate-limit-burst",
       [](DaemonConfig& c, const std::string& v) { c.rate_limit_burst = to_int("rate-limit-burst", v, 1, 1000000); }},
      {"auth-failures-per-address",
       [](DaemonConfig& c, const std::string& v) {
         c.auth_failures_per_address = to_int("auth-failures-per-address", v, 0, 1000000);
       }},
      {"auth-failure-window-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.auth_failure_window_ms = to_int("auth-failure-window-ms", v, 100, 86400000);
       }},
      {"auth-failure-block-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.auth_failure_block_ms = to_int("auth-failure-block-ms", v, 100, 86400000);
       }},
      {"webhook-backoff-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.webhook_backoff_ms = to_int("webhook-backoff-ms", v, 1, 86400000);
       }},
      {"webhook-backoff-max-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.webhook_backoff_max_ms = to_int("webhook-backoff-max-ms", v, 1, 86400000);
       }},
      {"webhook-max-attempts",
       [](DaemonConfig& c, const std::string& v) {
         c.webhook_max_attempts = to_int("webhook-max-attempts", v, 1, 100);
       }},
      {"webhook-timeout-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.webhook_timeout_ms = to_int("webhook-timeout-ms", v, 100, 600000);
       }},
      {"webhook-poll-ms",
       [](DaemonConfig& c, const std::string& v) { c.webhook_poll_ms = to_int("webhook-poll-ms", v, 10, 3600000); }},
      {"retention-sweep-ms",
       [](DaemonConfig& c, const std::string& v) {
         c.retention_sweep_ms = to_int("retention-sweep-ms", v, 100, 86400000);
       }},
      {"models", [](DaemonConfig& c, const std::string& v) { c.models = v; }},
      {"embedder",
       [](DaemonConfig& c, const std::string& v) {
         if (v != "fused_recognition" && v != "faceplugin_recognition" && v != "dlib_recognition" &&
             v != "faceapi_recognition") {
           throw std::invalid_argument(
               "embedder must be fused_recognition, faceplugin_recognition, dlib_recognition or faceapi_recognition");
         }
         c.embedder = v;
       }},
      {"alignment",
       [](DaemonConfig& c, const std::string& v) {
         if (v != "auto") parse_alignment(v);  // refuses an unknown name now rather than at engine start
         c.alignment = v;
       }},
      {"embedding-flip",
       [](DaemonConfig& c, const std::string& v) { c.embedding_flip = to_bool("embedding-flip", v); }},
      {"embed-parallel",
       [](DaemonConfig& c, const std::string& v) {
         parse_parallel_parts(v);  // refuses an unknown value now rather than at engine start
         c.embed_parallel = v;
       }},
      {"sealing-key", [](DaemonConfig& c, const std::string& v) { c.sealing_key = v; }},
      {"admin-token", [](DaemonConfig& c, const std::string& v) { c.admin_token = v; }},
      {"demo", [](DaemonConfig& c, const std::string& v) { c.demo = to_bool("demo", v); }},
      {"demo-photo", [](DaemonConfig& c, const std::string& v) { c.demo_photo = v; }},
      {"public-url", [](DaemonConfig& c, const std::string& v) { c.public_url = v; }},
  };
  return table;
}

void apply(DaemonConfig& config, const std::string& name, const std::string& value) {
  auto it = setters().find(name);
  if (it == setters().end()) throw std::invalid_argument("unknown setting " + name);
  it->second(config, value);
}

std::string env_name(const std::string& name) {
  std::string out = "FACEAUTH_";
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

void apply_file(DaemonConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read the configuration file " + path);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t equals = line.find('=');
    if (equals == std::string::npos) throw std::invalid_argument("bad line in " + path + ": " + line);
    apply(config, trim(line.substr(0, equals)), trim(line.substr(equals + 1)));
  }
}

// Flags as (name, value) pairs; `--no-demo` is demo=false, `--config` is taken apart.
std::vector<std::pair<std::string, std::string>> flag_pairs(int argc, char** argv, std::string& file) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument " + word);
    std::string name = word.substr(2), value;
    size_t equals = name.find('=');
    if (name == "no-demo") {
      pairs.emplace_back("demo", "false");
      continue;
    }
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    } else {
      if (i + 1 >= argc) throw std::invalid_argument("--" + name + " needs a value");
      value = argv[++i];
    }
    if (name == "config") {
      file = value;
    } else {
      pairs.emplace_back(name, value);
    }
  }
  return pairs;
}

}  // namespace

DaemonConfig load_config(int argc, char** argv) {
  DaemonConfig config;
  std::string file;
  if (const char* env = std::getenv("FACEAUTH_CONFIG"); env && *env) file = env;
  auto flags = flag_pairs(argc, argv, file);
  if (!file.empty()) apply_file(config, file);
  for (const auto& [name, setter] : setters()) {
    if (const char* value = std::getenv(env_name(name).c_str()); value && *value) apply(config, name, value);
  }
  for (const auto& [name, value] : flags) apply(config, name, value);
  return config;
}

std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::vector<std::string> describe(const DaemonConfig& c) {
  auto secret = [](const std::string& value) { return value.empty() ? std::string("(from data dir)") : "(set)"; };
  return {"data-dir = " + c.data_dir.string(),
          "database = " + (c.database.empty() ? std::string("(SQLite in data dir)") : redact_url(c.database)),
          "database-pool = " + std::to_string(c.database_pool),
          "bind = " + c.bind,
          "port = " + std::to_string(c.port),
          "workers = " + std::to_string(c.workers),
          "engine-wait-ms = " + std::to_string(c.engine_wait_ms),
          "max-body-mb = " + std::to_string(c.max_body_mb),
          "engine-queue = " + std::to_string(c.engine_queue),
          "read-timeout-ms = " + std::to_string(c.read_timeout_ms),
          "idle-timeout-ms = " + std::to_string(c.idle_timeout_ms),
          "header-timeout-ms = " + std::to_string(c.header_timeout_ms),
          "min-body-bytes-per-second = " + std::to_string(c.min_body_bytes_per_second),
          "body-rate-grace-ms = " + std::to_string(c.body_rate_grace_ms),
          "max-connections = " + std::to_string(c.max_connections),
          "max-connections-per-address = " + std::to_string(c.max_connections_per_address),
          "max-requests-per-connection = " + std::to_string(c.max_requests_per_connection),
          "io-threads = " + std::to_string(c.io_threads),
          "handler-threads = " + (c.handler_threads > 0 ? std::to_string(c.handler_threads) : std::string("auto")),
          "trusted-proxies = " + (c.trusted_proxies.empty() ? std::string("(none)") : c.trusted_proxies),
          "rate-limit-per-minute = " + std::to_string(c.rate_limit_per_minute),
          "rate-limit-burst = " + std::to_string(c.rate_limit_burst),
          "auth-failures-per-address = " + std::to_string(c.auth_failures_per_address),
          "auth-failure-window-ms = " + std::to_string(c.auth_failure_window_ms),
          "auth-failure-block-ms = " + std::to_string(c.auth_failure_block_ms),
          "webhook-backoff-ms = " + std::to_string(c.webhook_backoff_ms),
          "webhook-backoff-max-ms = " + std::to_string(c.webhook_backoff_max_ms),
          "webhook-max-attempts = " + std::to_string(c.webhook_max_attempts),
          "webhook-timeout-ms = " + std::to_string(c.webhook_timeout_ms),
          "webhook-poll-ms = " + std::to_string(c.webhook_poll_ms),
          "webhook-lease-ms = " + std::to_string(c.webhook_lease_ms),
          "retention-sweep-ms = " + std::to_string(c.retention_sweep_ms),
          "models = " + (c.models.empty() ? std::string("(set-up cache)") : c.models.string()),
          "embedder = " + c.embedder,
          "alignment = " + c.alignment,
          "embedding-flip = " + std::string(c.embedding_flip ? "true" : "false"),
          "embed-parallel = " + c.embed_parallel,
          "sealing-key = " + secret(c.sealing_key),
          "admin-token = " + secret(c.admin_token),
          "demo = " + std::string(c.demo ? "true" : "false"),
          "demo-photo = " + (c.demo_photo.empty() ? std::string("(face-api demo sample1)") : c.demo_photo.string()),
          "public-url = " + c.public_url};
}

std::vector<std::string> setting_names() {
  std::vector<std::string> names;
  for (const auto& entry : setters()) names.push_back(entry.first);
  return names;
}

std::string usage_text() {
  std::string text =
      "usage: faceauthd [--config FILE] [--SETTING VALUE | --SETTING=VALUE]... [--no-demo] [--help]\n"
      "Each setting is a flag (--data-dir DIR), an environment variable (FACEAUTH_DATA_DIR=DIR) or a line\n"
      "of the --config file (data-dir = DIR); a flag wins over the environment, which wins over the file.\n"
      "The settings, with their defaults:\n";
  for (const std::string& line : describe(DaemonConfig{})) text += "  --" + line + "\n";
  return text;
}

}  // namespace faceauth
