#!/usr/bin/env bash
# The help desk at scale (issue 11, Quality "bench/"): p95 latency of the ticket queues with their
# counts and of every service report with each filter, on SQLite and on PostgreSQL, as the admin
# and as the support agent (Sue, whose Support team shares its tickets: team visibility on).
#
# Usage: bench/service.sh    (release build of rapport; TICKETS=500000 tickets with conversations
#                             and histories on a small demo company of PEOPLE people)
#
# For each engine, builds the demo in a temporary directory (SQLite) or in the database PG_DB
# (PostgreSQL at PG, dropped and created again), serves it on loopback, signs in through the API
# and times ROUNDS sequential requests of each URL (p50, p95 and max of curl's total time), each
# run bounded by TIMEOUT seconds. Nothing leaves 127.0.0.1.
# Env: TICKETS=500000 PEOPLE=2000 ROUNDS=40 PORT=18793 PG=postgres://postgres@127.0.0.1:5432
#      ENGINES="sqlite postgres" PG_DB=rapport_bench_service RAPPORT_BIN (skip the build) OUT_DIR
#      TIMEOUT=1800, and BUILD=0 to time the databases a previous run left in OUT_DIR / PG_DB.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TICKETS="${TICKETS:-500000}"; PEOPLE="${PEOPLE:-2000}"; ROUNDS="${ROUNDS:-40}"; PORT="${PORT:-18793}"; TIMEOUT="${TIMEOUT:-1800}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"; ENGINES="${ENGINES:-sqlite postgres}"; PG_DB="${PG_DB:-rapport_bench_service}"; BUILD="${BUILD:-1}"
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
  curl -sf -m 30 -H "authorization: Bearer $2" -o /dev/null "$B$3" || { echo "| $1 | \`$3\` | FAILED | | |"; return 0; }
  # A request over the 30 s bound counts as 30 s (curl still prints its time) instead of ending the run.
  for _ in $(seq "$ROUNDS"); do curl -s -m 30 -H "authorization: Bearer $2" -o /dev/null -w '%{time_total}\n' "$B$3" || true; done | sort -n |
    awk -v l="$1" -v p="$3" '{a[NR]=$1} END {i=int(NR*0.95+0.999); printf "| %s | `%s` | %.1f | %.1f | %.1f |\n", l, p, a[int((NR+1)/2)]*1000, a[i]*1000, a[NR]*1000}'
}
for engine in $ENGINES; do
  case "$engine" in
    sqlite) DB="$OUT/service.db"; [ "$BUILD" = 1 ] && rm -f "$DB"* ;;
    postgres)
      [ "$BUILD" = 1 ] && psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
      DB="$PG/$PG_DB" ;;
    *) echo "unknown engine $engine"; exit 2 ;;
  esac
  if [ "$BUILD" = 1 ]; then
    echo "== $engine: building the demo with $TICKETS tickets ($PEOPLE people); load: $(uptime)"
    /usr/bin/time -f "demo: %e s wall, %M KB peak" timeout "$TIMEOUT" "$RAPPORT_BIN" --database "$DB" demo --people "$PEOPLE" --tickets "$TICKETS" --no-serve \
      | grep -E "Tickets|ready" || true
  else
    echo "== $engine: timing the database left by an earlier run ($DB)"
  fi
  "$RAPPORT_BIN" --database "$DB" serve --addr "127.0.0.1:$PORT" > "serve-$engine.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "$B/healthz" > /dev/null && break; sleep 0.2; done
  ADMIN=$(token admin@rapport.test); AGENT=$(token sue@rapport.test)
  SUE=$(curl -sf -H "authorization: Bearer $AGENT" "$B/api/v1/users/me" | sed 's/.*"id":\([0-9]*\).*/\1/')
  TEAM=$(curl -sf -H "authorization: Bearer $ADMIN" "$B/api/v1/teams" | grep -o '"id":[0-9]*,"name":"Support"' | grep -o '[0-9]*' | head -1)
  COMPANY=$(curl -sf -H "authorization: Bearer $ADMIN" "$B/api/v1/tickets?limit=1&status=closed" | grep -o '"company_id":[0-9]*' | grep -o '[0-9]*' | head -1)
  M="$(date -u -d '-1 month' +%Y-%m)"
  QUEUES=(
    "/api/v1/tickets?owner_id=$SUE&limit=50"
    "/api/v1/tickets/counts?owner_id=$SUE"
    "/api/v1/tickets?team_id=$TEAM&status=new&limit=50"
    "/api/v1/tickets/counts?team_id=$TEAM"
    "/api/v1/tickets?status=in_progress&priority=urgent&limit=50"
    "/api/v1/tickets?priority=high&sort=-created_at&limit=50"
    "/api/v1/tickets?status=waiting_on_customer&sort=created_at&limit=50"
    "/api/v1/tickets/counts"
  )
  FILTERS=("" "period=$M" "team_id=$TEAM" "agent_id=$SUE" "category=billing" "priority=urgent" "company_id=${COMPANY:-1}")
  echo "serving $B (loopback only); timing $ROUNDS requests of each of these URLs as the admin and as Sue:"
  for u in "${QUEUES[@]}"; do echo "  $B$u"; done
  for r in backlog times csat nps reopen_rate trend; do for f in "${FILTERS[@]}"; do echo "  $B/api/v1/reports/service/$r?$f"; done; done
  echo "  $B/api/v1/reports/service/compare?a=period:$M&b=period:$(date -u +%Y-%m)"
  echo "load before timing: $(uptime)"
  echo "| $engine, $TICKETS tickets | URL | p50 ms | p95 ms | max ms |"
  echo "| --- | --- | ---: | ---: | ---: |"
  for who in admin agent; do
    T=$ADMIN; [ "$who" = agent ] && T=$AGENT
    for u in "${QUEUES[@]}"; do timed "$who" "$T" "$u"; done
    for r in backlog times csat nps reopen_rate trend; do
      for f in "${FILTERS[@]}"; do timed "$who" "$T" "/api/v1/reports/service/$r?$f"; done
    done
    timed "$who" "$T" "/api/v1/reports/service/compare?a=period:$M&b=period:$(date -u +%Y-%m)"
  done
  echo "load after timing: $(uptime)"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done
