#pragma once
// libpq underneath the PostgreSQL store: one connection with its prepared statements, typed
// parameters (bytea sent binary), binary results read by column type, and a bounded pool.
// Errors carry only PostgreSQL's primary message (never the DETAIL line, which can quote a
// row's values) and say whether the connection was lost.

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace faceauth::pg {

// A failure on a connection that is gone: the caller may retry on a fresh one.
class ConnectionLost : public StoreError {
 public:
  using StoreError::StoreError;
};

// Positional parameters $1..$n. Text values are copied; bytea goes binary.
class Params {
 public:
  Params& text(const std::string& value);
  Params& blob(const Bytes& value);
  Params& integer(int64_t value);
  Params& real(double value);
  Params& boolean(bool value);
  Params& null();

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void add(std::string value, int format, bool is_null);
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A finished statement's rows, in binary format.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}
  int size() const { return PQntuples(result_.get()); }
  int64_t affected() const;
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;
  Bytes blob(int row, int column) const;
  int64_t integer(int row, int column) const;
  double real(int row, int column) const;
  bool boolean(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

class Connection {
 public:
  explicit Connection(const std::string& url);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // A prepared statement (prepared once per connection), binary results.
  Rows run(const std::string& sql, const Params& params, const char* what);
  Rows run(const std::string& sql, const char* what) { return run(sql, Params{}, what); }
  // Constant SQL, possibly several statements (migrations' DDL, transaction control).
  void exec(const std::string& sql, const char* what);
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Reconnects a broken connection; false when the server is still unreachable.
  bool reset();
  bool in_transaction() const {
    PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
  }
  // Never throws: for cleanup after an error.
  void rollback_quietly();

 private:
  [[noreturn]] void fail(PGresult* result, const char* what);
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;
};

// Up to `size` connections, opened on demand; acquire() waits for a free one.
class Pool {
 public:
  Pool(std::string url, int size);

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection) : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // A connected connection, or StoreError when the server cannot be reached.
  Lease acquire();
  int size() const { return size_; }

 private:
  void give_back(std::unique_ptr<Connection> connection);
  std::string url_;
  int size_;
  int open_ = 0;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace faceauth::pg
