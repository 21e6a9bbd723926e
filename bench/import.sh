#!/usr/bin/env bash
# Issue 13 §2 and Quality: imports at a million people. Generates a CSV of N people (default
# 1,000,000; external_id, name, email, phone, city, country), imports it with
# `rapport import customers` into a fresh SQLite database and a fresh PostgreSQL database
# (created on PG_URL's server for the run, dropped at exit), exports the people back with
# `rapport export customers`, and measures the batch API (`POST /api/v1/customers/batch` at
# 1,000 records per call) against single creates (`POST /api/v1/customers`, one at a time) on a
# loopback server. Prints rows/s, wall time and peak RSS (`/usr/bin/time -v`) per step, and the
# load average beside each figure (the machine is shared).
#
#   bench/import.sh
#   N=100000 ENGINES=sqlite bench/import.sh
#
# Settings: RAPPORT_BIN (default target/release/rapport), N, ENGINES ("sqlite postgres"),
# MODE (best-effort or all-or-nothing; default best-effort), PG_URL
# (postgres://postgres@127.0.0.1:5432/postgres), PORT (18095), BATCH_CALLS (20 calls of 1,000),
# SINGLE_CREATES (2,000), RUN_TIMEOUT (seconds per step, 900), OUT_DIR (a new temporary
# directory: the CSV, the databases, the logs; removed at exit unless KEEP=1).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RAPPORT_BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
N="${N:-1000000}"
ENGINES="${ENGINES:-sqlite postgres}"
MODE="${MODE:-best-effort}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${PORT:-18095}"
BATCH_CALLS="${BATCH_CALLS:-20}"
SINGLE_CREATES="${SINGLE_CREATES:-2000}"
RUN_TIMEOUT="${RUN_TIMEOUT:-900}"
OUT_DIR="${OUT_DIR:-$(mktemp -d /tmp/rapport-import-bench.XXXXXX)}"
PG_DB="rapport_import_bench_$$"
PASSWORD="import-bench-password"
mkdir -p "$OUT_DIR"

die() { echo "import bench: $*" >&2; exit 1; }
case "$PG_URL" in
  postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*) ;;
  *) die "PG_URL must be on loopback (127.0.0.1 or localhost): $PG_URL" ;;
esac
[ -x "$RAPPORT_BIN" ] || die "no $RAPPORT_BIN: cargo build --release -p rapport-cli"
PG_BASE="${PG_URL%/*}"
PG_RUN="$PG_BASE/$PG_DB"

SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  if [[ " $ENGINES " == *" postgres "* ]]; then
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
  fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$OUT_DIR"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
rapport() { (cd "$OUT_DIR" && env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS "$RAPPORT_BIN" "$@"); }

# Runs a step under /usr/bin/time -v: prints "| step | rows | seconds | rows/s | peak RSS MB | load |".
timed_step() { # LABEL ROWS -- COMMAND…
  local label="$1" rows="$2"; shift 3
  local before; before=$(load)
  (cd "$OUT_DIR" && /usr/bin/time -v -o "$OUT_DIR/time.txt" timeout "$RUN_TIMEOUT" "$@") > "$OUT_DIR/$label.out" 2> "$OUT_DIR/$label.err" \
    || { tail -5 "$OUT_DIR/$label.err" >&2; die "$label failed (log $OUT_DIR/$label.err)"; }
  local wall rss secs
  wall=$(grep 'Elapsed (wall clock)' "$OUT_DIR/time.txt" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$OUT_DIR/time.txt" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  printf '| %s | %s | %.1f | %.0f | %.0f | %s → %s |\n' "$label" "$rows" "$secs" "$(echo "$rows / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$before" "$(load)"
}

echo "generating $N people into $OUT_DIR/people.csv" >&2
python3 - "$N" "$OUT_DIR/people.csv" <<'PY'
import sys, random
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(13)
first = ["Ana", "Bob", "Chen", "Dana", "Eve", "José", "Zoë", "Liam", "Mia", "Noah", "Sato", "Kim", "Anna", "Lin"]
last = ["Garcia", "Smith", "Chen", "Müller", "O'Brien", "Nguyen", "Kowalski", "Nakamura", "Andersen", "MARTIN"]
cities = ["Berlin", "Paris", "  Lyon ", "Oslo", "Austin", "Kyoto"]
countries = ["US", "Germany", "fr", "Norway", "united states", "JP"]
with open(path, "w", encoding="utf-8") as f:
    f.write("external_id,name,email,phone,city,country\n")
    for i in range(n):
        name = f"{rnd.choice(first)} {rnd.choice(last)}"
        if i % 10 == 0:
            name = name.upper()
        f.write(f"p-{i},{name},person{i}@Example.com,+1 415 2{i // 10000 % 100:02d} {i % 10000:04d},{rnd.choice(cities)},{rnd.choice(countries)}\n")
PY

echo "| step | rows | seconds | rows/s | peak RSS MB | load average before → after |"
echo "| --- | --- | --- | --- | --- | --- |"
for engine in $ENGINES; do
  case "$engine" in
    sqlite) DB="$OUT_DIR/import.db" ;;
    postgres)
      psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
      psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
      DB="$PG_RUN" ;;
    *) die "unknown engine $engine" ;;
  esac
  rapport --database "$DB" migrate > /dev/null
  timed_step "import $engine ($MODE)" "$N" -- env -u RAPPORT_DATABASE_URL "$RAPPORT_BIN" --database "$DB" import customers "$OUT_DIR/people.csv" --mode "$MODE" --quiet
  grep -q "\"created\": $N" "$OUT_DIR/import $engine ($MODE).out" || die "import $engine did not create $N people: $(cat "$OUT_DIR/import $engine ($MODE).out")"
  timed_step "re-import $engine (upserts, $MODE)" "$N" -- env -u RAPPORT_DATABASE_URL "$RAPPORT_BIN" --database "$DB" import customers "$OUT_DIR/people.csv" --mode "$MODE" --quiet
  grep -q '"created": 0' "$OUT_DIR/re-import $engine (upserts, $MODE).out" || die "the second import of $engine created people"
  timed_step "export $engine (csv)" "$N" -- env -u RAPPORT_DATABASE_URL "$RAPPORT_BIN" --database "$DB" export customers --format csv --out "$OUT_DIR/export-$engine.csv"
  lines=$(($(wc -l < "$OUT_DIR/export-$engine.csv") - 1))
  [ "$lines" -ge "$N" ] || die "export $engine wrote $lines rows"
done

# The batch API against single creates, on a fresh SQLite database served on loopback.
API_DB="$OUT_DIR/api.db"
rapport --database "$API_DB" migrate > /dev/null
RAPPORT_USER_PASSWORD="$PASSWORD" rapport --database "$API_DB" user create --email bench@rapport.test --admin > /dev/null
BASE="http://127.0.0.1:$PORT"
echo "serving $API_DB on $BASE; requests: POST $BASE/api/v1/customers/batch (1,000 records a call), POST $BASE/api/v1/customers" >&2
(cd "$OUT_DIR" && exec env -u RAPPORT_DATABASE_URL "$RAPPORT_BIN" --database "$API_DB" serve --addr "127.0.0.1:$PORT") > "$OUT_DIR/serve.log" 2>&1 &
SERVER=$!
t=0
until curl -sf -o /dev/null --max-time 2 "$BASE/healthz"; do
  [ "$t" -ge 120 ] && die "the server did not start (log $OUT_DIR/serve.log)"
  sleep 1; t=$((t + 1))
done
TOKEN=$(curl -sf --max-time 30 -H 'content-type: application/json' -d "{\"email\":\"bench@rapport.test\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/login" | jq -r .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "login failed"
python3 - "$OUT_DIR" "$BATCH_CALLS" <<'PY'
import json, sys
out, calls = sys.argv[1], int(sys.argv[2])
for c in range(calls):
    recs = [{"data": {"name": f"Batch {c} {i}", "email": f"b{c}-{i}@example.com", "external_id": f"b-{c}-{i}"}} for i in range(1000)]
    with open(f"{out}/batch-{c}.json", "w") as f:
        json.dump({"operation": "create", "records": recs}, f)
PY
before=$(load); start=$(date +%s.%N)
for c in $(seq 0 $((BATCH_CALLS - 1))); do
  code=$(curl -s -o "$OUT_DIR/batch-answer.json" -w '%{http_code}' --max-time 120 -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' --data-binary "@$OUT_DIR/batch-$c.json" "$BASE/api/v1/customers/batch")
  [ "$code" = 200 ] && [ "$(jq .created "$OUT_DIR/batch-answer.json")" = 1000 ] || die "batch call $c answered $code: $(head -c 300 "$OUT_DIR/batch-answer.json")"
done
secs=$(echo "$(date +%s.%N) - $start" | bc -l)
printf '| batch API, %s calls of 1,000 (SQLite) | %s | %.1f | %.0f | | %s → %s |\n' "$BATCH_CALLS" "$((BATCH_CALLS * 1000))" "$secs" "$(echo "$BATCH_CALLS * 1000 / $secs" | bc -l)" "$before" "$(load)"
before=$(load); start=$(date +%s.%N)
for i in $(seq 1 "$SINGLE_CREATES"); do
  [ "$i" -gt 1 ] && echo "next"
  echo "header = \"authorization: Bearer $TOKEN\""
  echo "header = \"content-type: application/json\""
  echo "url = \"$BASE/api/v1/customers\""
  echo "data = \"{\\\"name\\\": \\\"Single $i\\\", \\\"email\\\": \\\"s$i@example.com\\\"}\""
  echo "output = /dev/null"
  echo "write-out = \"%{http_code}\\n\""
done > "$OUT_DIR/singles.curl"
curl -s --max-time "$RUN_TIMEOUT" -K "$OUT_DIR/singles.curl" > "$OUT_DIR/singles.codes"
secs=$(echo "$(date +%s.%N) - $start" | bc -l)
ok=$(grep -c '^201$' "$OUT_DIR/singles.codes" || true)
[ "$ok" = "$SINGLE_CREATES" ] || die "$ok of $SINGLE_CREATES single creates answered 201"
printf '| single creates, one at a time, one connection (SQLite) | %s | %.1f | %.0f | | %s → %s |\n' "$SINGLE_CREATES" "$secs" "$(echo "$SINGLE_CREATES / $secs" | bc -l)" "$before" "$(load)"
