#include "server/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <thread>

#include <opencv2/core.hpp>

#include "api/routes.h"
#include "api/webhook.h"
#include "server/background.h"
#include "server/config.h"
#include "server/demo.h"

namespace faceauth {
namespace {

constexpr const char* kUsage =
    "usage: faceauthd [--config FILE] [--data-dir DIR] [--bind ADDR] [--port N] [--workers N]\n"
    "                 [--engine-wait-ms MS] [--max-body-mb MB] [--read-timeout-ms MS] [--idle-timeout-ms MS]\n"
    "                 [--max-connections N] [--rate-limit-per-minute N] [--rate-limit-burst N] [--models DIR] "
    "[--sealing-key HEX] [--admin-token TOKEN]\n"
    "                 [--webhook-backoff-ms MS] [--webhook-backoff-max-ms MS] [--webhook-max-attempts N]\n"
    "                 [--webhook-timeout-ms MS] [--webhook-poll-ms MS] [--retention-sweep-ms MS]\n"
    "                 [--no-demo] [--demo-photo FILE] [--public-url URL]\n"
    "Every flag has an environment twin (FACEAUTH_DATA_DIR, ...) and a config-file line (data-dir = ...).\n";

std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) out += {digits[b >> 4], digits[b & 15]};
  return out;
}

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

struct AdminToken {
  Bytes hash;
  std::string made;  // the token when it was made in this start, else ""
};

// The admin token's hash: from the configuration, or kept in DATA_DIR/admin_token.sha256,
// made (and shown once) at the first start.
AdminToken admin_token(const DaemonConfig& config) {
  if (!config.admin_token.empty()) return {hash_key(config.admin_token), ""};
  std::filesystem::path path = config.data_dir / "admin_token.sha256";
  std::ifstream in(path);
  std::string hex;
  if (in >> hex && hex.size() == 64) return {from_hex(hex), ""};
  NewKey token = generate_key("adm");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string line = to_hex(token.hash) + "\n";
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot write " + path.string());
  }
  ::close(fd);
  return {token.hash, token.key};
}

EngineConfig engine_config(const DaemonConfig& config) {
  EngineConfig engine;
  if (!config.models.empty()) engine.model_dir = config.models;
  engine.embedding_model = config.embedder;
  if (config.alignment != "auto") engine.embedding.alignment = parse_alignment(config.alignment);
  engine.embedding.flip = config.embedding_flip;
  return engine;
}

std::filesystem::path demo_photo(const DaemonConfig& config, const EngineConfig& engine) {
  if (!config.demo_photo.empty()) return config.demo_photo;
  return engine.model_dir.parent_path() / "npm" / "face-api" / "package" / "demo" / "sample1.jpg";
}

// Every server on one database must hold the same sealing key: the first start stores a
// value sealed with its key, and a later start whose key cannot open it is refused.
void check_sealing_key(Store& store, const Sealer& sealer) {
  const std::string check = "faceauth sealing check v1";
  const Bytes plain(check.begin(), check.end());
  Bytes stored = store.put_cluster_value_if_absent("sealing_check", sealer.seal(plain));
  std::optional<Bytes> opened = sealer.open(stored);
  if (!opened || *opened != plain) {
    throw std::runtime_error(
        "the sealing key cannot open what this database's servers sealed: every server on one database needs the "
        "same sealing-key");
  }
}

// Servers on one shared database must make templates with one embedding pipeline, or each
// would re-embed the others' templates back and forth: a server of another one is refused.
// (One server on its own store may change it: templates are re-embedded on use.)
void check_model_version(Store& store, const std::string& model_version) {
  if (!store.shared()) return;
  Bytes mine(model_version.begin(), model_version.end());
  Bytes stored = store.put_cluster_value_if_absent("model_version", mine);
  if (stored != mine) {
    throw std::runtime_error("this database's servers embed with " + std::string(stored.begin(), stored.end()) +
                             ", this server with " + model_version +
                             ": use the same embedder, alignment and embedding-flip on every server (docs/deploy.md "
                             "says how to change them for all)");
  }
}

int serve(const DaemonConfig& config, const sigset_t& signals) {
  std::filesystem::create_directories(config.data_dir);
  ::chmod(config.data_dir.c_str(), 0700);
  init_crypto();
  Sealer sealer = config.sealing_key.empty() ? Sealer::from_file(config.data_dir / "sealing.key")
                                             : Sealer::from_hex(config.sealing_key);
  std::unique_ptr<Store> store =
      open_store(config.database, (config.data_dir / "faceauth.db").string(), config.database_pool);
  check_sealing_key(*store, sealer);
  AdminToken admin = admin_token(config);
  EngineConfig engine = engine_config(config);
  int workers =
      config.workers > 0 ? config.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EnginePool engines(engine, workers);
  check_model_version(*store, engines.model_version());
  Metrics metrics;
  ServiceConfig service_config;
  service_config.engine_wait = std::chrono::milliseconds(config.engine_wait_ms);
  service_config.rate_per_minute = config.rate_limit_per_minute;
  service_config.rate_burst = config.rate_limit_burst;
  service_config.liveness = std::make_shared<const LivenessModel>(default_heads_dir() / "liveness.json");
  service_config.on_stage_times = [&metrics](const StageTimes& ms) {
    metrics.observe_stage("decode", ms.decode / 1000);
    metrics.observe_stage("detect", ms.detect / 1000);
    metrics.observe_stage("landmarks", ms.landmarks / 1000);
    metrics.observe_stage("align", ms.align / 1000);
    metrics.observe_stage("embed", ms.embed / 1000);
  };
  WebhookRetry retry{config.webhook_backoff_ms, config.webhook_backoff_max_ms, config.webhook_max_attempts,
                     config.webhook_timeout_ms, config.webhook_lease_ms};
  WebhookDeliverer deliverer(*store, sealer, retry);
  // Events resume after a restart: the outbox is read at start and whenever an event is due.
  BackgroundLoop webhooks("webhook delivery", [&deliverer, &config] {
    // One event per step: a stop waits for at most one try (webhook-timeout-ms).
    deliverer.deliver_due(now_ms(), 1);
    int64_t wait = deliverer.wait_ms(now_ms());
    return wait < 0 ? config.webhook_poll_ms : std::min<int64_t>(wait, config.webhook_poll_ms);
  });
  BackgroundLoop sweeper("retention sweeper", [&store, &config] {
    store->purge_expired_images(now_ms());
    store->purge_idempotency_keys(now_ms() - 86'400'000);  // Idempotency-Keys are kept a day
    return config.retention_sweep_ms;
  });
  service_config.on_webhook_event = [&webhooks] { webhooks.wake(); };
  FaceAuthService service(*store, engines, sealer, service_config);
  ApiRouter router(service, metrics, {admin.hash, 256, [&store] { return store->ping(); }});
  HttpServerConfig http;
  http.bind_address = config.bind;
  http.port = static_cast<uint16_t>(config.port);
  http.max_body_bytes = static_cast<size_t>(config.max_body_mb) * 1024 * 1024;
  http.read_timeout_ms = config.read_timeout_ms;
  http.idle_timeout_ms = config.idle_timeout_ms;
  http.max_connections = config.max_connections;
  HttpServer server(
      http, [&router](const HttpRequest& r) { return router.handle(r); },
      [&router](HttpProtocolError e) { return router.protocol_error(e); });
  server.start();
  webhooks.start();
  sweeper.start();
  std::string base_url =
      config.public_url.empty() ? "http://" + config.bind + ":" + std::to_string(server.port()) : config.public_url;
  std::cout << "faceauthd listening on " << base_url << " with " << workers << " engine workers, liveness head "
            << service_config.liveness->version() << std::endl;
  if (!admin.made.empty() && !config.demo) {
    std::cout << "admin token (shown once, only its hash is kept): " << admin.made << std::endl;
  }
  if (config.demo && store->list_kyc_projects().empty()) {
    std::cout << create_demo(service, engines, {config.data_dir, demo_photo(config, engine), base_url, admin.made})
              << std::flush;
  }
  int received = 0;
  sigwait(&signals, &received);
  std::cout << "faceauthd: signal " << received << ", finishing requests in flight" << std::endl;
  server.stop(10000);
  webhooks.stop();
  sweeper.stop();
  std::cout << "faceauthd: stopped" << std::endl;
  return 0;
}

}  // namespace

int run_daemon(int argc, char** argv) {
  // SIGINT and SIGTERM are taken by sigwait in this thread: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  cv::setNumThreads(1);  // one OpenCV thread per engine; the pool gives the parallelism
  DaemonConfig config;
  try {
    config = load_config(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "faceauthd: " << e.what() << "\n" << kUsage;
    return 64;
  }
  std::cout << "faceauthd configuration:\n";
  for (const std::string& line : describe(config)) std::cout << "  " << line << "\n";
  try {
    return serve(config, signals);
  } catch (const std::exception& e) {
    std::cerr << "faceauthd: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace faceauth
