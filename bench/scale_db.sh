#!/usr/bin/env bash
# Builds (or reuses) a database of PEOPLE_BASE × FACTOR people (default 100,000 × 10 = 1,000,000)
# on each engine in bounded time: one `rapport demo --people PEOPLE_BASE --no-serve`, then the
# people rows copied FACTOR-1 times inside the database with SQL. A demo of a million people takes
# far longer than copying does, and what search and filters see is the same: the copies keep every
# column (names, stages, tags, owners, companies, times, search words, sealed ciphertexts as they
# are), so each word, tag, stage and owner is as frequent in the whole as in the demo; only ids are
# new and the email blind index gets a suffix per copy (it is unique). The full-text index is kept
# by the tables' own triggers (SQLite FTS5) or generated column (PostgreSQL tsvector). The orders,
# deals and activities of the demo are not copied.
#
#   bench/scale_db.sh                      # both engines, in $SCALE_DIR (default /tmp/rapport-scale)
#   ENGINES=sqlite bench/scale_db.sh
#
# Settings: RAPPORT_BIN (default target/release/rapport), SCALE_DIR, PEOPLE_BASE, FACTOR,
# ENGINES="sqlite postgres", PG_URL (loopback server; a role that may create databases),
# PG_DB (default rapport_scale), SETUP_TIMEOUT (seconds per step, default 1800).
# Prints, per engine, the database URL and the key directory `rapport serve` must run in.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
SCALE_DIR="${SCALE_DIR:-/tmp/rapport-scale}"
PEOPLE_BASE="${PEOPLE_BASE:-100000}"
FACTOR="${FACTOR:-10}"
ENGINES="${ENGINES:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="${PG_DB:-rapport_scale}"
SETUP_TIMEOUT="${SETUP_TIMEOUT:-1800}"
TARGET=$((PEOPLE_BASE * FACTOR))

die() { echo "scale_db: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no rapport binary at $BIN (cargo build --release -p rapport-cli, or set RAPPORT_BIN)"
case "$PG_URL" in postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*) ;; *) die "PG_URL must be a loopback server";; esac
PG_DB_URL="${PG_URL%/*}/$PG_DB"

demo() { # DIR DATABASE_URL
  mkdir -p "$1"
  local t0; t0=$(date +%s)
  echo "== demo of $PEOPLE_BASE people on $2 (in $1)"
  (cd "$1" && exec timeout "$SETUP_TIMEOUT" env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$BIN" --database "$2" demo --people "$PEOPLE_BASE" --no-serve) > "$1/demo.log" 2>&1 \
    || { tail -5 "$1/demo.log" >&2; die "demo failed (log: $1/demo.log)"; }
  echo "   demo took $(( $(date +%s) - t0 )) s"
}

# The copy statement: every column as it is but the id (shifted by k spans) and the email blind
# index (suffixed). COLS is the comma-separated list of the other written columns.
copy_sql() { # COLS SPAN K
  cat <<SQL
INSERT INTO customers (id, email_hash, $1)
  SELECT id + $2 * $3, CASE WHEN email_hash IS NULL THEN NULL ELSE email_hash || '~$3' END, $1
  FROM customers WHERE id <= $2;
INSERT INTO customer_tags (tag, customer_id) SELECT tag, customer_id + $2 * $3 FROM customer_tags WHERE customer_id <= $2;
SQL
}

scale_sqlite() {
  local dir="$SCALE_DIR/sqlite" db="$SCALE_DIR/sqlite/rapport.db" n span cols t0
  n=$( [ -f "$db" ] && sqlite3 "$db" "SELECT count(*) FROM customers" 2>/dev/null || echo 0)
  if [ "$n" -ge "$TARGET" ]; then echo "== reusing $db ($n people)"; else
    # A finished demo with no copies yet (a run stopped after it) is copied from; else a new one.
    if [ "$n" -ne "$PEOPLE_BASE" ] || ! grep -q "Demo company ready" "$dir/demo.log" 2>/dev/null; then rm -rf "$dir"; demo "$dir" "$db"; fi
    span=$(sqlite3 "$db" "SELECT max(id) FROM customers")
    cols=$(sqlite3 "$db" "SELECT group_concat(name, ', ') FROM pragma_table_info('customers') WHERE name NOT IN ('id', 'email_hash')")
    t0=$(date +%s)
    for k in $(seq 1 $((FACTOR - 1))); do
      { echo "BEGIN;"; copy_sql "$cols" "$span" "$k"; echo "COMMIT;"; } | timeout "$SETUP_TIMEOUT" sqlite3 "$db"
      echo "   copy $k of $((FACTOR - 1)) done ($(( $(date +%s) - t0 )) s)"
    done
    timeout "$SETUP_TIMEOUT" sqlite3 "$db" "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    echo "   copies and ANALYZE took $(( $(date +%s) - t0 )) s; $(sqlite3 "$db" "SELECT count(*) FROM customers") people"
  fi
  echo "SQLITE_URL=$db SQLITE_DIR=$dir"
}

scale_postgres() {
  local dir="$SCALE_DIR/postgres" n span cols t0
  n=$(psql -X -At "$PG_DB_URL" -c "SELECT count(*) FROM customers" 2>/dev/null || echo 0)
  if [ "$n" -ge "$TARGET" ] && [ -f "$dir/rapport.key" ]; then echo "== reusing $PG_DB_URL ($n people)"; else
    rm -rf "$dir"
    psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
    demo "$dir" "$PG_DB_URL"
    span=$(psql -X -At "$PG_DB_URL" -c "SELECT max(id) FROM customers")
    cols=$(psql -X -At "$PG_DB_URL" -c "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns
      WHERE table_name = 'customers' AND table_schema = current_schema() AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'email_hash')")
    t0=$(date +%s)
    for k in $(seq 1 $((FACTOR - 1))); do
      copy_sql "$cols" "$span" "$k" | timeout "$SETUP_TIMEOUT" psql -X -q -1 -v ON_ERROR_STOP=1 "$PG_DB_URL"
      echo "   copy $k of $((FACTOR - 1)) done ($(( $(date +%s) - t0 )) s)"
    done
    psql -X -q "$PG_DB_URL" -c "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))" \
      -c "VACUUM ANALYZE customers" -c "VACUUM ANALYZE customer_tags" >/dev/null
    echo "   copies and ANALYZE took $(( $(date +%s) - t0 )) s; $(psql -X -At "$PG_DB_URL" -c "SELECT count(*) FROM customers") people"
  fi
  echo "POSTGRES_URL=$PG_DB_URL POSTGRES_DIR=$dir"
}

for e in $ENGINES; do
  case "$e" in sqlite) scale_sqlite ;; postgres) scale_postgres ;; *) die "unknown engine $e" ;; esac
done
