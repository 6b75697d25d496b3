#include "store/postgres/pg_connection.h"

#include <endian.h>

#include <bit>
#include <charconv>
#include <cstring>

namespace faceauth::pg {
namespace {

// Type oids of the columns we read (pg_type.h).
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat8 = 701;

const char* primary_message(const PGresult* result, PGconn* conn) {
  const char* message = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (message != nullptr) return message;
  // No server message (a lost connection): libpq's own text, which holds no row values.
  return PQerrorMessage(conn);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

void Params::add(std::string value, int format, bool is_null) {
  lengths_.push_back(static_cast<int>(value.size()));
  values_.push_back(std::move(value));
  nulls_.push_back(is_null);
  formats_.push_back(format);
}

Params& Params::text(const std::string& value) {
  add(value, 0, false);
  return *this;
}

Params& Params::blob(const Bytes& value) {
  add(std::string(value.begin(), value.end()), 1, false);
  return *this;
}

Params& Params::integer(int64_t value) {
  add(std::to_string(value), 0, false);
  return *this;
}

Params& Params::real(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest exact round trip
  add(std::string(buffer, ec == std::errc{} ? end : buffer), 0, false);
  return *this;
}

Params& Params::boolean(bool value) {
  add(value ? "true" : "false", 0, false);
  return *this;
}

Params& Params::null() {
  add("", 0, true);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  for (size_t i = 0; i < values_.size(); ++i) out.push_back(nulls_[i] ? nullptr : values_[i].data());
  return out;
}

int64_t Rows::affected() const {
  const char* tuples = PQcmdTuples(result_.get());
  return (tuples && *tuples) ? std::stoll(tuples) : 0;
}

std::string Rows::text(int row, int column) const {
  if (is_null(row, column)) return {};
  return std::string(PQgetvalue(result_.get(), row, column), PQgetlength(result_.get(), row, column));
}

Bytes Rows::blob(int row, int column) const {
  if (is_null(row, column)) return {};
  const auto* data = reinterpret_cast<const uint8_t*>(PQgetvalue(result_.get(), row, column));
  return Bytes(data, data + PQgetlength(result_.get(), row, column));
}

int64_t Rows::integer(int row, int column) const {
  if (is_null(row, column)) return 0;
  const char* data = PQgetvalue(result_.get(), row, column);
  switch (PQftype(result_.get(), column)) {
    case kInt8: {
      uint64_t v;
      std::memcpy(&v, data, 8);
      return static_cast<int64_t>(be64toh(v));
    }
    case kInt4: {
      uint32_t v;
      std::memcpy(&v, data, 4);
      return static_cast<int32_t>(be32toh(v));
    }
    case kInt2: {
      uint16_t v;
      std::memcpy(&v, data, 2);
      return static_cast<int16_t>(be16toh(v));
    }
    case kBool:
      return data[0] != 0;
    default:
      throw StoreError("read column: not an integer column");
  }
}

double Rows::real(int row, int column) const {
  if (is_null(row, column)) return 0;
  if (PQftype(result_.get(), column) != kFloat8) return static_cast<double>(integer(row, column));
  uint64_t v;
  std::memcpy(&v, PQgetvalue(result_.get(), row, column), 8);
  return std::bit_cast<double>(be64toh(v));
}

bool Rows::boolean(int row, int column) const { return integer(row, column) != 0; }

Connection::Connection(const std::string& url) {
  // connect_timeout bounds a start or a reconnect while the server is away; keepalives find
  // a dead peer on an idle connection. Defaults: the URL's own parameters (after) win.
  const char* keys[] = {"connect_timeout", "keepalives_idle", "application_name", "dbname", nullptr};
  const char* values[] = {"3", "30", "faceauthd", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr) throw StoreError("connect to PostgreSQL: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectionLost("connect to PostgreSQL: " + message);
  }
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::reset() {
  PQreset(conn_);
  prepared_.clear();  // prepared statements live and die with the server session
  return ok();
}

void Connection::fail(PGresult* result, const char* what) {
  std::string message = std::string(what) + ": " + trimmed(primary_message(result, conn_));
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  PQclear(result);
  if (lost) throw ConnectionLost(message);
  throw StoreError(message);
}

Rows Connection::run(const std::string& sql, const Params& params, const char* what) {
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    std::string name = std::to_string(prepared_.size() + 1);
    name.insert(name.begin(), 's');  // not "s" + ...: GCC 12 -O2 warns wrongly (-Wrestrict)
    PGresult* prepared = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) fail(prepared, what);
    PQclear(prepared);
    found = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values = params.pointers();
  PGresult* result =
      PQexecPrepared(conn_, found->second.c_str(), params.size(), values.data(), params.lengths(), params.formats(), 1);
  ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail(result, what);
  return Rows(result);
}

void Connection::rollback_quietly() { PQclear(PQexec(conn_, "ROLLBACK")); }

void Connection::exec(const std::string& sql, const char* what) {
  PGresult* result = PQexec(conn_, sql.c_str());
  if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) fail(result, what);
  PQclear(result);
}

Pool::Pool(std::string url, int size) : url_(std::move(url)), size_(std::max(1, size)) {}

Pool::Lease::~Lease() {
  if (pool_ && connection_) pool_->give_back(std::move(connection_));
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  // A connection left inside a transaction (an error mid-way) is not reused as it is.
  if (connection->in_transaction()) connection->rollback_quietly();
  idle_.push_back(std::move(connection));
  freed_.notify_one();
}

Pool::Lease Pool::acquire() {
  std::unique_ptr<Connection> connection;
  {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, std::chrono::seconds(10), [&] { return !idle_.empty() || open_ < size_; })) {
      throw StoreError("database: no free connection in the pool");
    }
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (!connection) {
    try {
      connection = std::make_unique<Connection>(url_);
    } catch (...) {
      std::lock_guard lock(mutex_);
      --open_;
      freed_.notify_one();
      throw;
    }
  } else if (!connection->ok() && !connection->reset()) {
    Lease idle(*this, std::move(connection));  // back to the pool, to be reset on a later use
    throw ConnectionLost("database unreachable");
  }
  return Lease(*this, std::move(connection));
}

}  // namespace faceauth::pg
