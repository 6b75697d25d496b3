#pragma once
// faceauthd's configuration: one struct of defaults, overridden by an optional file, then
// environment variables, then command-line flags. Every setting has all three forms:
// flag --data-dir, variable FACEAUTH_DATA_DIR, file line `data-dir = ...`.

#include <filesystem>
#include <string>
#include <vector>

namespace faceauth {

struct DaemonConfig {
  std::filesystem::path data_dir = "faceauth-data";
  std::string database;   // postgresql://user@host:port/db, sqlite:PATH, or "" = DATA_DIR/faceauth.db
  int database_pool = 8;  // PostgreSQL connections per server
  std::string bind = "127.0.0.1";
  int port = 8080;
  int workers = 0;            // engines in the pool; 0 = one per core
  int engine_wait_ms = 3000;  // wait for a free engine before 503
  int max_body_mb = 20;       // request body limit
  int engine_queue = 64;      // requests waiting for an engine at once; more: 503 at once
  int read_timeout_ms = 15000;
  int idle_timeout_ms = 30000;
  int header_timeout_ms = 10000;          // the whole header block; slower: closed
  int min_body_bytes_per_second = 10240;  // once the body started, after the grace; 0 = off
  int body_rate_grace_ms = 5000;
  int max_connections = 10000;             // open at once
  int max_connections_per_address = 64;    // per client IP; trusted proxies exempt; 0 = no cap
  int max_requests_per_connection = 1000;  // per keep-alive connection; 0 = no limit
  int io_threads = 2;                      // threads running the event loop
  int handler_threads = 0;                 // 0 = workers + engine-queue + 8
  std::string trusted_proxies;             // IPs/CIDRs whose X-Forwarded-For names the client
  int rate_limit_per_minute = 6000;        // POST /v3/faceauth per add-on key; 0 = off
  int rate_limit_burst = 200;
  int auth_failures_per_address = 30;  // 401s from one client address within the window; 0 = off
  int auth_failure_window_ms = 60000;  // ... before it is answered 429 for auth-failure-block-ms
  int auth_failure_block_ms = 60000;
  int webhook_backoff_ms = 1000;               // wait after a failed webhook try; doubles per try
  int webhook_backoff_max_ms = 300000;         // cap of that wait
  int webhook_max_attempts = 8;                // tries before an event is marked failed
  int webhook_timeout_ms = 5000;               // per try
  int webhook_poll_ms = 1000;                  // the outbox is also read this often
  int webhook_lease_ms = 30000;                // a claimed event is this server's for so long
  int retention_sweep_ms = 3600000;            // how often expired face images are purged
  std::filesystem::path models;                // "" = the set-up cache
  std::string embedder = "fused_recognition";  // the face descriptor model (a manifest name)
  std::string alignment = "auto";              // face chip alignment: auto (the model's own), dlib68, dlib5 or arcface5
  bool embedding_flip = false;                 // average the descriptors of the chip and its mirror
  std::string embed_parallel = "auto";         // a fusion's parts on two cores: off, auto (when one is idle), on
  std::string sealing_key;                     // 64 hex chars; "" = DATA_DIR/sealing.key, made at first start
  std::string admin_token;                     // "" = made at first start, its hash kept in DATA_DIR
  bool demo = true;                            // first start on an empty store creates a demo project
  std::filesystem::path demo_photo;            // "" = face-api's demo/sample1.jpg from the set-up cache
  std::string public_url;                      // base_url written to demo.json; "" = http://bind:port
};

// Parses flags (argv) over environment over the file named by --config / FACEAUTH_CONFIG.
// Throws std::invalid_argument with a message naming the bad setting.
DaemonConfig load_config(int argc, char** argv);

// The URL with any password replaced by "***".
std::string redact_url(const std::string& url);

// The settings as lines `name = value` for the start-up log, secrets redacted.
std::vector<std::string> describe(const DaemonConfig& config);

// The names every source takes (flag, environment, file), sorted.
std::vector<std::string> setting_names();

// What `faceauthd --help` prints: the syntax and every setting with its default.
std::string usage_text();

}  // namespace faceauth
