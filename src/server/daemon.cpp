#include "server/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include <opencv2/core.hpp>

#include "api/accounts.h"
#include "api/dashboard_routes.h"
#include "api/routes.h"
#include "api/webhook.h"
#include "server/background.h"
#include "server/config.h"
#include "server/demo.h"
#include "server/readiness.h"

namespace faceauth {
namespace {

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

// The embedder's calibration entry in its manifest ("knots", "rates_at_score": the FAR and
// FRR of each score on LFW), for the dashboard's policy editor; null when there is none.
nlohmann::json calibration_of(const EngineConfig& engine) {
  std::ifstream in(engine.model_dir / (engine.embedding_model + ".json"));
  nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("calibration")) return nullptr;
  const nlohmann::json& table = manifest.at("calibration");
  std::string key = manifest.contains("parts") ? (engine.embedding.flip ? "fused+flip" : "fused") : "";
  if (key.empty()) {
    for (const auto& [name, entry] : table.items()) {
      if ((name.find("+flip") != std::string::npos) == engine.embedding.flip) {
        key = name;
        break;
      }
    }
  }
  return table.contains(key) ? table.at(key) : nlohmann::json(nullptr);
}

EngineConfig engine_config(const DaemonConfig& config) {
  EngineConfig engine;
  if (!config.models.empty()) engine.model_dir = config.models;
  engine.embedding_model = config.embedder;
  if (config.alignment != "auto") engine.embedding.alignment = parse_alignment(config.alignment);
  engine.embedding.flip = config.embedding_flip;
  engine.embedding.parallel_parts = parse_parallel_parts(config.embed_parallel);
  engine.pad_steps = kPadSteps;  // tight head crops at a gate: docs/attributes.md
  return engine;
}

// Raises the soft RLIMIT_NOFILE to what max-connections needs (up to the hard limit); returns
// the connections that fit.
int raise_file_limit(int max_connections) {
  constexpr rlim_t kReserve = 256;  // database, models, logs, webhook sockets
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return max_connections;
  const rlim_t want = static_cast<rlim_t>(max_connections) + kReserve;
  if (limit.rlim_cur < want) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? want : std::min(want, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur >= want) return max_connections;
  return static_cast<int>(std::max<rlim_t>(limit.rlim_cur, 2 * kReserve) - kReserve);
}

// Routes answered on the I/O thread: no storage, no engine, no blocking.
bool cheap_route(const HttpRequest& request) {
  return (request.method == "GET" || request.method == "HEAD") &&
         (request.path == "/health" || request.path == "/metrics");
}

HttpServerConfig http_config(const DaemonConfig& config, int workers) {
  HttpServerConfig http;
  http.bind_address = config.bind;
  http.port = static_cast<uint16_t>(config.port);
  http.max_body_bytes = static_cast<size_t>(config.max_body_mb) * 1024 * 1024;
  http.read_timeout_ms = config.read_timeout_ms;
  http.idle_timeout_ms = config.idle_timeout_ms;
  http.header_timeout_ms = config.header_timeout_ms;
  http.min_body_bytes_per_second = config.min_body_bytes_per_second;
  http.body_rate_grace_ms = config.body_rate_grace_ms;
  http.max_connections = raise_file_limit(config.max_connections);
  if (http.max_connections < config.max_connections) {
    std::cout << "faceauthd: the descriptor limit allows " << http.max_connections << " connections, not "
              << config.max_connections << std::endl;
  }
  http.max_connections_per_address = config.max_connections_per_address;
  http.max_requests_per_connection = config.max_requests_per_connection;
  http.io_threads = config.io_threads;
  // More handler threads than engine users (workers + queue), so requests that need no engine
  // always find a thread.
  http.handler_threads = config.handler_threads > 0 ? config.handler_threads : workers + config.engine_queue + 8;
  http.max_queued_requests = std::max(256, 2 * http.handler_threads);
  http.trusted_proxies = config.trusted_proxies;
  http.run_inline = cheap_route;
  return http;
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

ServiceConfig service_config_of(const DaemonConfig& config, const EngineConfig& engine, Metrics& metrics) {
  ServiceConfig service_config;
  service_config.engine_wait = std::chrono::milliseconds(config.engine_wait_ms);
  service_config.rate_per_minute = config.rate_limit_per_minute;
  service_config.rate_burst = config.rate_limit_burst;
  service_config.liveness = std::make_shared<const LivenessModel>(default_heads_dir() / "liveness.json",
                                                                  engine.model_dir, engine.landmark_model);
  service_config.on_stage_times = [&metrics](const StageTimes& ms) {
    metrics.observe_stage("decode", ms.decode / 1000);
    metrics.observe_stage("detect", ms.detect / 1000);
    metrics.observe_stage("landmarks", ms.landmarks / 1000);
    metrics.observe_stage("align", ms.align / 1000);
    metrics.observe_stage("embed", ms.embed / 1000);
  };
  return service_config;
}

RouterConfig router_config_of(const DaemonConfig& config, const AdminToken& admin, Readiness& readiness) {
  RouterConfig routes;
  routes.admin_token_hash = admin.hash;
  routes.ready = [&readiness] { return readiness.ready(now_ms()); };
  routes.on_store_error = [&readiness] { readiness.note_store_error(now_ms()); };
  routes.auth_throttle = {config.auth_failures_per_address, std::chrono::milliseconds(config.auth_failure_window_ms),
                          std::chrono::milliseconds(config.auth_failure_block_ms)};
  routes.admin_checked_outside = true;
  return routes;
}

void wait_for_stop_signal(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
  std::cout << "faceauthd: signal " << received << ", finishing requests in flight" << std::endl;
}

// Events resume after a restart: the outbox is read at start and whenever an event is due.
// One event per step: a stop waits for at most one try (webhook-timeout-ms).
std::function<int64_t()> webhook_step(WebhookDeliverer& deliverer, const DaemonConfig& config) {
  return [&deliverer, &config]() -> int64_t {
    deliverer.deliver_due(now_ms(), 1);
    int64_t wait = deliverer.wait_ms(now_ms());
    return wait < 0 ? config.webhook_poll_ms : std::min<int64_t>(wait, config.webhook_poll_ms);
  };
}

std::function<int64_t()> sweep_step(Store& store, const DaemonConfig& config) {
  return [&store, &config]() -> int64_t {
    store.purge_expired_images(now_ms());
    store.purge_idempotency_keys(now_ms() - 86'400'000);  // Idempotency-Keys are kept a day
    store.delete_expired_sessions(now_ms());              // dashboard sessions past their expiry
    return config.retention_sweep_ms;
  };
}

struct Running {
  Store& store;
  FaceAuthService& service;
  EnginePool& engines;
  const EngineConfig& engine;
};

// The admin token (when made here and not for the demo), the demo project, the dashboard's
// address and the owner's first password: each shown once.
void print_secrets_and_demo(const DaemonConfig& config, const Running& running, const AdminToken& admin,
                            const std::string& base_url, const std::optional<std::string>& owner_password) {
  if (!admin.made.empty() && !config.demo) {
    std::cout << "admin token (shown once, only its hash is kept): " << admin.made << std::endl;
  }
  if (config.demo && running.store.list_kyc_projects().empty()) {
    std::cout << create_demo(running.service, running.engines,
                             {config.data_dir, demo_photo(config, running.engine), base_url, admin.made,
                              owner_password.value_or("")})
              << std::flush;
  }
  std::cout << "dashboard: " << base_url << "/dashboard/" << std::endl;
  if (owner_password) {
    std::cout << "dashboard user: owner, password (shown once, only its hash is kept): " << *owner_password
              << std::endl;
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
  EnginePool engines(engine, workers, config.engine_queue);
  check_model_version(*store, engines.model_version());
  Metrics metrics;
  ServiceConfig service_config = service_config_of(config, engine, metrics);
  WebhookRetry retry{config.webhook_backoff_ms, config.webhook_backoff_max_ms, config.webhook_max_attempts,
                     config.webhook_timeout_ms, config.webhook_lease_ms};
  WebhookDeliverer deliverer(*store, sealer, retry);
  BackgroundLoop webhooks("webhook delivery", webhook_step(deliverer, config));
  BackgroundLoop sweeper("retention sweeper", sweep_step(*store, config));
  service_config.on_webhook_event = [&webhooks] { webhooks.wake(); };
  FaceAuthService service(*store, engines, sealer, service_config);
  Readiness readiness(*store);
  const RouterConfig routes = router_config_of(config, admin, readiness);
  ApiRouter api(service, metrics, routes);
  Accounts accounts(*store);
  std::optional<std::string> owner_password = accounts.ensure_owner(now_ms());
  DashboardStats stats;
  DashboardConfig dashboard{admin.hash,  "", calibration_of(engine), config.embedder, [&webhooks] { webhooks.wake(); },
                            routes.ready};
  std::unique_ptr<DashboardRouter> router;
  // The port (and so the public URL the dashboard checks Origin against) is known once the
  // server listens; until the front exists requests answer 503.
  std::atomic<DashboardRouter*> router_ready{nullptr};
  HttpServer server(
      http_config(config, workers),
      [&router_ready](const HttpRequest& r) {
        DashboardRouter* front = router_ready.load();
        if (!front) return error_response({ApiErrorCode::detection_server_error, "starting"}, random_hex_id());
        return front->handle(r);
      },
      [&api](HttpProtocolError e) { return api.protocol_error(e); });
  metrics.set_collector([&server] { return render_connection_stats(server.stats()); });
  server.start();
  std::string base_url =
      config.public_url.empty() ? "http://" + config.bind + ":" + std::to_string(server.port()) : config.public_url;
  dashboard.public_url = base_url;
  router = std::make_unique<DashboardRouter>(api, service, accounts, engines, sealer, stats, dashboard);
  router_ready.store(router.get());
  webhooks.start();
  sweeper.start();
  std::cout << "faceauthd listening on " << base_url << " with " << workers << " engine workers, liveness head "
            << service_config.liveness->version() << std::endl;
  print_secrets_and_demo(config, {*store, service, engines, engine}, admin, base_url, owner_password);
  readiness.mark_started();  // /ready: only now, with demo.json and the owner password written
  wait_for_stop_signal(signals);
  server.stop(10000);
  webhooks.stop();
  sweeper.stop();
  metrics.set_collector(nullptr);
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
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << usage_text();
      return 0;
    }
  }
  DaemonConfig config;
  try {
    config = load_config(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "faceauthd: " << e.what() << "\n" << usage_text();
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
