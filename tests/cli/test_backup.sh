#!/usr/bin/env bash
# Backups and restore as docs/deploy.md gives them, on loopback:
#   SQLite online backup (sqlite3 .backup) while a writer is writing: the copy is one
#   consistent snapshot (intact, its attempts exactly the first N written) and opens as a store;
#   PostgreSQL pg_dump -Fc / pg_restore into a new database: `faceauth admin migrate-store`
#   verifies the restored database row for row (counts and SHA-256 per table) against the
#   SQLite source it was filled from.
#   test_backup.sh PATH/TO/faceauth PATH/TO/seed_attempts
set -euo pipefail
faceauth=$1
seed=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pg_dir=$(mktemp -d /tmp/faceauth-backup-pg.XXXXXX)
seed_pid=
cleanup() {
  [ -z "$seed_pid" ] || kill "$seed_pid" 2>/dev/null || true
  "$root/tests/tools/pg_test_server.sh" stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

db=$work/faceauth.db
"$seed" "$db" fa 0 0 1 >/dev/null  # the schema
sqlite3 "$db" "INSERT INTO kyc_projects(id, name, created_ms) VALUES('kyc', 'k', 1);
  INSERT INTO faceauth_projects(id, kyc_project_id, name, policy_json, image_retention_days, created_ms)
  VALUES('fa', 'kyc', 'door', '{}', 30, 1);"

# SQLite online backup during writes.
"$seed" "$db" fa 400 1000 1 >"$work/seeded" &
seed_pid=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$work/seeded")" -ge 50 ] && break; sleep 0.05; done
sqlite3 "$db" ".backup $work/backup.db"
wait "$seed_pid"
seed_pid=
[ "$(wc -l <"$work/seeded")" = 400 ] || fail "the writer did not finish"
[ "$(sqlite3 "$work/backup.db" 'PRAGMA integrity_check')" = ok ] || fail "backup not intact"
n=$(sqlite3 "$work/backup.db" 'SELECT COUNT(*) FROM attempts')
[ "$n" -ge 50 ] && [ "$n" -le 400 ] || fail "backup has $n attempts"
sqlite3 "$work/backup.db" 'SELECT id FROM attempts ORDER BY rowid' >"$work/in_backup"
head -n "$n" "$work/seeded" | diff - "$work/in_backup" >/dev/null || fail "backup is not a snapshot of the first $n writes"
# Restore: the file is a store again (it opens and migrates as faceauthd's would).
cp "$work/backup.db" "$work/restored.db"
"$seed" "$work/restored.db" fa 1 5000 1 >/dev/null || fail "restored copy does not open as a store"
echo "sqlite online backup: $n of 400 attempts, a consistent snapshot"

# PostgreSQL: fill from SQLite, dump, restore into a new database, verify against the source.
url=$("$root/tests/tools/pg_test_server.sh" start "$pg_dir")
"$faceauth" admin migrate-store --from "sqlite:$db" --to "$url" >"$work/copy1" || { cat "$work/copy1"; fail "copy"; }
pg_dump -Fc -f "$work/faceauth.dump" "$url"
psql -q "$url" -c 'CREATE DATABASE restored'
restored=${url%/faceauth}/restored
pg_restore -d "$restored" "$work/faceauth.dump"
"$faceauth" admin migrate-store --from "sqlite:$db" --to "$restored" >"$work/copy2" || { cat "$work/copy2"; fail "restored database differs"; }
diff "$work/copy1" "$work/copy2" >/dev/null || fail "the restored database's tables differ from the dumped one's"
grep -q '"table":"attempts","sqlite_rows":400,"postgres_rows":400' "$work/copy2" || { cat "$work/copy2"; fail "attempt count"; }
echo "pg_dump / pg_restore: every table identical to the source"
echo "PASS"
