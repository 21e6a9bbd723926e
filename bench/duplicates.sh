#!/usr/bin/env bash
# Issue 13 §5: duplicate detection over 100,000 people in under 10 s. Builds a demo company of
# PEOPLE people on SQLite (`rapport demo --no-serve`; and on PostgreSQL with ENGINES including
# `postgres`), serves it on loopback, and times ROUNDS calls of
# `GET /api/v1/duplicates?object=customers` (blocking on email, phone and name words, then
# Jaro-Winkler scoring) as the demo admin, printing each time, the pairs found and the load average.
#
#   bench/duplicates.sh
#   ENGINES="sqlite postgres" ROUNDS=5 bench/duplicates.sh
#
# Settings: RAPPORT_BIN (default target/release/rapport: `cargo build --release -p rapport-cli`),
# PEOPLE (100000), ROUNDS (3), ENGINES ("sqlite"), PORT (18095), PORT_PG (18096),
# PG_URL (postgres://postgres@127.0.0.1:5432/postgres: a loopback server whose role may create
# databases; the run's database is dropped at exit), MIN_SCORE (0.3), LIMIT (1000),
# SETUP_TIMEOUT (1800 s per demo build), OUT_DIR (logs; default a new temporary directory).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RAPPORT_BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
PEOPLE="${PEOPLE:-100000}"
ROUNDS="${ROUNDS:-3}"
ENGINES="${ENGINES:-sqlite}"
PORT="${PORT:-18095}"
PORT_PG="${PORT_PG:-18096}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
MIN_SCORE="${MIN_SCORE:-0.3}"
LIMIT="${LIMIT:-1000}"
SETUP_TIMEOUT="${SETUP_TIMEOUT:-1800}"
OUT_DIR="${OUT_DIR:-$(mktemp -d /tmp/rapport-duplicates-bench.XXXXXX)}"
PASSWORD="rapport-demo-password"
mkdir -p "$OUT_DIR"

die() { echo "duplicates: $*" >&2; exit 1; }
[ -x "$RAPPORT_BIN" ] || die "no binary at $RAPPORT_BIN: cargo build --release -p rapport-cli, or set RAPPORT_BIN"
case "$PG_URL" in postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*) ;; *) die "PG_URL must be a loopback server" ;; esac

PIDS=()
PG_DB=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$PG_DB" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

serve() { # DATABASE_URL PORT
  (cd "$OUT_DIR" && exec env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$RAPPORT_BIN" --database "$1" serve --addr "127.0.0.1:$2") > "$OUT_DIR/serve-$2.log" 2>&1 &
  PIDS+=($!)
  local t=0
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$2/healthz"; do
    [ "$t" -ge 300 ] && die "timed out waiting for 127.0.0.1:$2 (log $OUT_DIR/serve-$2.log)"
    sleep 1; t=$((t + 1))
  done
}

bench() { # NAME DATABASE_URL PORT
  local name=$1 db=$2 port=$3 base="http://127.0.0.1:$3" token url out code secs pairs started
  echo "== $name: building the demo of $PEOPLE people (bounded to ${SETUP_TIMEOUT}s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  started=$(date +%s)
  (cd "$OUT_DIR" && timeout "$SETUP_TIMEOUT" env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$RAPPORT_BIN" --database "$db" demo --people "$PEOPLE" --no-serve) > "$OUT_DIR/demo-$name.log" 2>&1 \
    || die "demo failed or timed out (log $OUT_DIR/demo-$name.log)"
  echo "   demo built in $(( $(date +%s) - started )) s"
  serve "$db" "$port"
  token=$(curl -sf --max-time 30 -H 'content-type: application/json' -d "{\"email\":\"admin@rapport.test\",\"password\":\"$PASSWORD\"}" \
    "$base/api/v1/auth/login" | jq -r .token)
  [ -n "$token" ] && [ "$token" != null ] || die "login on $base failed"
  url="$base/api/v1/duplicates?object=customers&min_score=$MIN_SCORE&limit=$LIMIT"
  echo "   request: GET $url"
  echo
  echo "| $name, $PEOPLE people | round | seconds | pairs | load average (1 5 15 min) |"
  echo "| --- | --- | --- | --- | --- |"
  for r in $(seq 1 "$ROUNDS"); do
    out=$(curl -s -o "$OUT_DIR/pairs-$name.json" --max-time 120 -w '%{http_code} %{time_total}' -H "authorization: Bearer $token" "$url")
    code=${out% *}; secs=${out#* }
    [ "$code" = 200 ] || die "$url answered $code: $(head -c 300 "$OUT_DIR/pairs-$name.json")"
    pairs=$(jq length "$OUT_DIR/pairs-$name.json")
    printf '| GET /api/v1/duplicates | %s | %.2f | %s | %s |\n' "$r" "$secs" "$pairs" "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
  echo
  echo "   best pairs: $(jq -c '[.[:3][] | {a_name, b_name, score, reasons}]' "$OUT_DIR/pairs-$name.json")"
  echo
}

for e in $ENGINES; do
  case "$e" in
    sqlite) bench SQLite "$OUT_DIR/demo.db" "$PORT" ;;
    postgres)
      PG_DB="rapport_dup_bench_$$"
      psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
      bench PostgreSQL "${PG_URL%/*}/$PG_DB" "$PORT_PG" ;;
    *) die "unknown engine $e" ;;
  esac
done
echo "logs: $OUT_DIR"
