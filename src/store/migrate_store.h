#pragma once
// Moving a single node onto PostgreSQL: copies every table of an SQLite database (projects,
// keys, submissions, attempts, the webhook outbox and its delivery log, Idempotency-Keys,
// cluster values) into a PostgreSQL database in one transaction, then verifies each table's
// row count and a SHA-256 over its rows in key order on both sides. Safe to re-run: rows
// are upserted by primary key, so a second run brings changed rows over and changes nothing
// else. Both databases are migrated to the latest schema first.

#include <cstdint>
#include <string>
#include <vector>

namespace faceauth {

struct TableCopy {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  std::string source_sha256, target_sha256;  // hex
  bool same() const { return source_rows == target_rows && source_sha256 == target_sha256; }
};

// Throws StoreError when either database cannot be opened or the copy fails (nothing is
// written then). The result lists every table; all same() when the copy verified.
std::vector<TableCopy> migrate_sqlite_to_postgres(const std::string& sqlite_path, const std::string& postgres_url);

}  // namespace faceauth
