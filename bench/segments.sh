#!/usr/bin/env bash
# Issue 12: counting a segment with order statistics and engagement rules over 1,000,000 people,
# on SQLite and PostgreSQL (target: under 1 s). The databases are bench/scale_db.sh's (built or
# reused: 100,000 demo people copied to a million). The orders are the demo's (about 458,000, of
# 57,000 of the first 100,000 people; scale_db.sh copies people only); ORDER_COPIES=9 copies them
# for each copy of the people too (about 4 M orders; on a loaded 2-core machine each copy of
# 458,000 orders with their 16 indexes takes over 6 minutes). This script adds in SQL, once per
# database, one email campaign whose members are every third person (sent), every ninth of them
# having opened, every 27th clicked. Then it serves each database on
# loopback and counts, ROUNDS times, the segment
#
#   all: total spend >= SPEND+round, order count >= 2, last order within 3 years,
#        any: (opened the campaign, clicked in it), not tagged TAG
#
# with POST /api/v1/segments/preview_count as the admin (each round's spend differs by one
# minor unit, so no round is answered from the server's few-second count cache), one request at
# a time; milliseconds from curl's time_total, with the load average beside them (the machine
# may be shared: read the figures with it).
#
#   bench/segments.sh                       # both engines
#   ENGINES=sqlite ROUNDS=5 bench/segments.sh
#
# Settings: RAPPORT_BIN (default target/release/rapport), ENGINES, ROUNDS (5), SPEND (50000), ORDER_COPIES (0),
# TAG (vip), PORT_SQLITE (18092), PORT_PG (18093), OUT_DIR; and scale_db.sh's (SCALE_DIR, PG_DB…).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export RAPPORT_BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
ENGINES="${ENGINES:-sqlite postgres}"
ROUNDS="${ROUNDS:-5}"
SPEND="${SPEND:-50000}"
TAG="${TAG:-vip}"
FACTOR="${FACTOR:-10}"
ORDER_COPIES="${ORDER_COPIES:-0}"
PORT_SQLITE="${PORT_SQLITE:-18092}"
PORT_PG="${PORT_PG:-18093}"
PASSWORD="rapport-demo-password"
OUT_DIR="${OUT_DIR:-$(mktemp -d /tmp/rapport-segments-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
die() { echo "segments: $*" >&2; exit 1; }

eval "$(ENGINES="$ENGINES" FACTOR="$FACTOR" "$ROOT/bench/scale_db.sh" | tee /dev/stderr | grep -E '^(SQLITE|POSTGRES)_URL=' | tr ' ' '\n' | sed 's/^/export /')"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# One statement on an engine's database.
q() { # ENGINE SQL
  if [ "$1" = sqlite ]; then printf '.timeout 60000\n%s;\n' "$2" | timeout 1800 sqlite3 "$SQLITE_URL"; else timeout 1800 psql -X -At -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c "$2"; fi
}

# The orders of the demo's people, copied for each copy of them (ids shifted as scale_db.sh
# shifted the people's); skipped when done.
copy_orders() { # ENGINE
  local n_orders span ospan cols k t0
  span=$(( $(q "$1" "SELECT max(id) FROM customers") / FACTOR ))
  n_orders=$(q "$1" "SELECT count(*) FROM orders WHERE customer_id > $span")
  if [ "$n_orders" -gt 0 ]; then echo "== $1: orders already copied ($n_orders beyond the demo's people)"; return; fi
  ospan=$(q "$1" "SELECT max(id) FROM orders")
  if [ "$1" = sqlite ]; then
    cols=$(q "$1" "SELECT group_concat(name, ', ') FROM pragma_table_info('orders') WHERE name NOT IN ('id', 'customer_id')")
  else
    cols=$(q "$1" "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns
      WHERE table_name = 'orders' AND table_schema = current_schema() AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'customer_id')")
  fi
  t0=$(date +%s)
  [ "$ORDER_COPIES" -gt 0 ] || { echo "== $1: the demo's orders only ($(q "$1" "SELECT count(*) FROM orders"))"; return; }
  for k in $(seq 1 "$ORDER_COPIES"); do
    q "$1" "INSERT INTO orders (id, customer_id, $cols) SELECT id + $ospan * $k, customer_id + $span * $k, $cols FROM orders
      WHERE id <= $ospan AND customer_id IS NOT NULL AND customer_id <= $span"
  done
  if [ "$1" = sqlite ]; then q "$1" "ANALYZE" >/dev/null; else
    q "$1" "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))" >/dev/null; q "$1" "VACUUM ANALYZE orders" >/dev/null; fi
  echo "== $1: orders copied in $(( $(date +%s) - t0 )) s: $(q "$1" "SELECT count(*) FROM orders") orders"
}

serve() { # DIR DATABASE_URL PORT
  (cd "$1" && exec env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$RAPPORT_BIN" --database "$2" serve --addr "127.0.0.1:$3") > "$OUT_DIR/serve-$3.log" 2>&1 &
  PIDS+=($!)
  local t=0
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$3/healthz"; do
    [ "$t" -ge 900 ] && die "timed out waiting for 127.0.0.1:$3 (log $OUT_DIR/serve-$3.log)"
    sleep 1; t=$((t + 1))
  done
}

# The campaign and its members, once (found again by name).
engagement() { # ENGINE BASE TOKEN
  local id
  id=$(curl -sf --max-time 30 -H "authorization: Bearer $3" "$2/api/v1/campaigns?q=Bench+engagement&limit=1" | jq -r '.data[0].id // empty')
  if [ -z "$id" ]; then id=$(curl -sf --max-time 30 -H "authorization: Bearer $3" -H 'content-type: application/json' \
    -d '{"name": "Bench engagement", "channel": "email", "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}' \
    "$2/api/v1/campaigns" | jq -r .id); fi
  [ "$(q "$1" "SELECT count(*) FROM campaign_members WHERE campaign_id = $id")" -gt 0 ] && { echo "$id"; return; }
  local sql="INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, sent_at, delivered_at, opened_at, clicked_at, updated_at)
    SELECT $id, id, CASE WHEN id % 27 = 0 THEN 'clicked' WHEN id % 9 = 0 THEN 'opened' ELSE 'delivered' END, 'bench',
      '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z',
      CASE WHEN id % 9 = 0 THEN '2026-03-01T11:00:00Z' END, CASE WHEN id % 27 = 0 THEN '2026-03-01T11:05:00Z' END, '2026-03-01T11:05:00Z'
    FROM customers WHERE id % 3 = 0 AND deleted_at IS NULL"
  if [ "$1" = sqlite ]; then printf '.timeout 60000\n%s;\nANALYZE campaign_members;\n' "$sql" | timeout 900 sqlite3 "$SQLITE_URL" >/dev/null
  else timeout 900 psql -X -q -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c "$sql" -c "VACUUM ANALYZE campaign_members" >/dev/null; fi
  echo "$id"
}

bench_engine() { # ENGINE LABEL BASE
  local base="$3" token c rules out
  token=$(curl -sf --max-time 30 -H 'content-type: application/json' -d "{\"email\":\"admin@rapport.test\",\"password\":\"$PASSWORD\"}" \
    "$base/api/v1/auth/login" | jq -r .token)
  [ -n "$token" ] && [ "$token" != null ] || die "login on $base failed"
  c=$(engagement "$1" "$base" "$token")
  echo "== $2: POST $base/api/v1/segments/preview_count (campaign $c), $ROUNDS rounds"
  for r in $(seq 1 "$ROUNDS"); do
    rules=$(jq -cn --argjson spend $((SPEND + r)) --argjson c "$c" --arg tag "$TAG" '{rules: {all: [
      {field: "orders.total_spend", op: "gte", value: $spend}, {field: "orders.count", op: "gte", value: 2},
      {field: "orders.last_order_date", op: "within_last_days", value: 1095},
      {any: [{field: "engagement.opened", op: "eq", value: $c}, {field: "engagement.clicked", op: "eq", value: $c}]},
      {not: {field: "tag", op: "has", value: $tag}}]}}')
    out=$(curl -s --max-time 120 -o "$OUT_DIR/count-$1-$r.json" -w '%{http_code} %{time_total}' \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$rules" "$base/api/v1/segments/preview_count")
    printf '%s round %d: HTTP %s, %.0f ms, count %s, load %s\n' "$2" "$r" "${out% *}" "$(echo "${out#* } * 1000" | bc -l)" \
      "$(jq -r .count "$OUT_DIR/count-$1-$r.json" 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
}

for e in $ENGINES; do
  case "$e" in
    sqlite) copy_orders sqlite; serve "$SQLITE_DIR" "$SQLITE_URL" "$PORT_SQLITE"; bench_engine sqlite SQLite "http://127.0.0.1:$PORT_SQLITE" ;;
    postgres) copy_orders postgres; serve "$POSTGRES_DIR" "$POSTGRES_URL" "$PORT_PG"; bench_engine postgres PostgreSQL "http://127.0.0.1:$PORT_PG" ;;
  esac
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; PIDS=()
done
echo "responses and serve logs: $OUT_DIR"
