#!/usr/bin/env bash
# The sales reports on the demo company (issue 9, §5): p95 latency of the pipeline and monthly
# sales reports (and the other reports the dashboard reads) over the API, on SQLite and on
# PostgreSQL.
#
# Usage: bench/sales.sh      (release build of rapport; PEOPLE=100000 gives ~100,000 deals and
#                             ~1,000,000 order lines)
#
# For each engine, builds a demo database of PEOPLE people in a temporary directory (SQLite) or
# in the database rapport_bench_sales (PostgreSQL at PG, dropped and created again), serves it
# on loopback, signs in through the API as the admin (sees every deal), as a sales rep (Rita
# Rep, whose team shares its records), as Maria the manager (in both sales teams) and as Tom
# Trader (a rep in the private team only: his own and the unowned records), and times ROUNDS
# sequential requests of each report
# (p50, p95 and max of curl's total time). Nothing leaves 127.0.0.1.
# Env: PEOPLE=100000 ROUNDS=100 PORT=18791 PG=postgres://postgres@127.0.0.1:5432 ENGINES="sqlite postgres"
#      PG_DB=rapport_bench_sales RAPPORT_BIN (skip the build) OUT_DIR, and BUILD=0 to time the
#      databases a previous run left in OUT_DIR / PG_DB again (with another binary: before and
#      after a change on the same data; the newer binary migrates them first).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PEOPLE="${PEOPLE:-100000}"; ROUNDS="${ROUNDS:-100}"; PORT="${PORT:-18791}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"; ENGINES="${ENGINES:-sqlite postgres}"; PG_DB="${PG_DB:-rapport_bench_sales}"; BUILD="${BUILD:-1}"
OUT="${OUT_DIR:-$(mktemp -d)}"
if [ -z "${RAPPORT_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -p rapport-cli)
  RAPPORT_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rapport"
fi
cd "$OUT"
B="http://127.0.0.1:$PORT"
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
token() { # email
  curl -sf -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"rapport-demo-password\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/'
}
timed() { # label token path
  curl -sf -H "authorization: Bearer $2" -o /dev/null "$B$3" # warm up, and fail loudly on an error
  for _ in $(seq "$ROUNDS"); do curl -s -H "authorization: Bearer $2" -o /dev/null -w '%{time_total}\n' "$B$3"; done | sort -n |
    awk -v l="$1" -v p="$3" '{a[NR]=$1} END {i=int(NR*0.95+0.999); printf "| %s | `%s` | %.1f | %.1f | %.1f |\n", l, p, a[int((NR+1)/2)]*1000, a[i]*1000, a[NR]*1000}'
}
for engine in $ENGINES; do
  case "$engine" in
    sqlite) DB="$OUT/sales.db"; [ "$BUILD" = 1 ] && rm -f "$DB"* ;;
    postgres)
      [ "$BUILD" = 1 ] && psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
      DB="$PG/$PG_DB" ;;
    *) echo "unknown engine $engine"; exit 2 ;;
  esac
  if [ "$BUILD" = 1 ]; then
    echo "== $engine: building the demo company with $PEOPLE people"
    /usr/bin/time -f "demo: %e s wall, %M KB peak" "$RAPPORT_BIN" --database "$DB" demo --people "$PEOPLE" --no-serve | grep -E "Deals|Targets|Orders|ready" || true
  else
    echo "== $engine: timing the database left by an earlier run ($DB)"
  fi
  "$RAPPORT_BIN" --database "$DB" serve --addr "127.0.0.1:$PORT" > "serve-$engine.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "$B/healthz" > /dev/null && break; sleep 0.2; done
  echo "serving $B (loopback only); timing $ROUNDS requests per report:"
  for r in pipeline monthly_sales win_rate cycle_length funnel leaderboard; do echo "  $B/api/v1/reports/$r"; done
  ADMIN=$(token admin@rapport.test); REP=$(token rita@rapport.test); MARIA=$(token maria@rapport.test); TOM=$(token tom@rapport.test)
  # A span that begins and ends inside months: two edge months from the orders, the rest whole.
  MID="from=$(date -u -d '-100 days' +%Y-%m-15)&to=$(date -u -d '-10 days' +%Y-%m-10)"
  Q="$(date -u +%Y)-Q$(( ($(date -u +%-m) - 1) / 3 + 1 ))"
  echo "| $engine, $PEOPLE people | report | p50 ms | p95 ms | max ms |"
  echo "| --- | --- | ---: | ---: | ---: |"
  timed "admin" "$ADMIN" /api/v1/reports/pipeline
  timed "admin" "$ADMIN" "/api/v1/reports/pipeline?pipeline_id=1&period=$Q"
  timed "admin" "$ADMIN" "/api/v1/reports/pipeline?owner_id=2"
  timed "admin" "$ADMIN" "/api/v1/reports/pipeline?team_id=1"
  timed "sales rep" "$REP" /api/v1/reports/pipeline
  timed "admin, CSV" "$ADMIN" "/api/v1/reports/pipeline?format=csv"
  timed "admin" "$ADMIN" /api/v1/reports/monthly_sales
  timed "admin" "$ADMIN" "/api/v1/reports/monthly_sales?period=$Q"
  timed "admin" "$ADMIN" "/api/v1/reports/monthly_sales?owner_id=2"
  timed "admin" "$ADMIN" "/api/v1/reports/monthly_sales?team_id=1"
  timed "sales rep" "$REP" /api/v1/reports/monthly_sales
  timed "sales rep" "$REP" "/api/v1/reports/monthly_sales?period=$Q"
  timed "manager of two teams" "$MARIA" /api/v1/reports/monthly_sales
  timed "manager of two teams" "$MARIA" "/api/v1/reports/monthly_sales?team_id=1"
  timed "rep in no shared team" "$TOM" /api/v1/reports/monthly_sales
  timed "admin, mid-month span" "$ADMIN" "/api/v1/reports/monthly_sales?$MID"
  timed "manager, mid-month span" "$MARIA" "/api/v1/reports/monthly_sales?$MID"
  timed "rep in no shared team, mid-month span" "$TOM" "/api/v1/reports/monthly_sales?$MID"
  timed "admin" "$ADMIN" /api/v1/reports/win_rate
  timed "admin" "$ADMIN" "/api/v1/reports/win_rate?period=$Q"
  timed "admin" "$ADMIN" /api/v1/reports/leaderboard
  timed "admin" "$ADMIN" "/api/v1/reports/leaderboard?period=$Q"
  timed "admin" "$ADMIN" /api/v1/reports/cycle_length
  timed "admin" "$ADMIN" "/api/v1/reports/cycle_length?period=$Q"
  timed "admin" "$ADMIN" /api/v1/reports/funnel
  timed "admin" "$ADMIN" "/api/v1/reports/funnel?period=$Q"
  timed "sales rep" "$REP" /api/v1/reports/funnel
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done
