#!/usr/bin/env bash
# The pipeline board and the win-probability model on the demo company (issue 9, §2/§5/§6).
#
# Usage: bench/board.sh      (release build of rapport; PEOPLE=100000 gives ~100,000 deals, of
#                             which ~11,700 are open in the Sales pipeline)
#
# Builds a demo database of PEOPLE people (one deal each) in a temporary directory, serves it on
# loopback, signs in through the login form as the admin (sees every deal) and as a sales rep
# (Rita Rep, whose team shares its records), and times ROUNDS requests of the board of pipeline 1
# for each (median and max of curl's total time), then the win-probability JSON the board loads
# after rendering. Env: PEOPLE=100000 ROUNDS=20 PORT=18790 RAPPORT_BIN (skip the build) OUT_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PEOPLE="${PEOPLE:-100000}"; ROUNDS="${ROUNDS:-20}"; PORT="${PORT:-18790}"
OUT="${OUT_DIR:-$(mktemp -d)}"
if [ -z "${RAPPORT_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -p rapport-cli)
  RAPPORT_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rapport"
fi
cd "$OUT"
DB="$OUT/board.db"
rm -f "$DB"*
/usr/bin/time -f "demo: %e s wall, %M KB peak" "$RAPPORT_BIN" --database "$DB" demo --people "$PEOPLE" --no-serve | grep -E "Deals|ready"
"$RAPPORT_BIN" --database "$DB" serve --addr "127.0.0.1:$PORT" > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
B="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -sf "$B/healthz" > /dev/null && break; sleep 0.2; done
login() { # email jar
  rm -f "$2"
  local csrf
  csrf=$(curl -s -c "$2" -b "$2" "$B/login" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  curl -s -c "$2" -b "$2" -o /dev/null -X POST "$B/login" --data-urlencode "email=$1" \
    --data-urlencode "password=rapport-demo-password" --data-urlencode "_csrf=$csrf"
}
timed() { # label jar path
  for _ in $(seq "$ROUNDS"); do curl -s -b "$2" -o /dev/null -w '%{time_total}\n' "$B$3"; done | sort -n |
    awk -v l="$1" '{a[NR]=$1} END {printf "%s: median %.1f ms, max %.1f ms (%d requests)\n", l, a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'
}
login admin@rapport.test admin.jar
login rita@rapport.test rep.jar
echo "open deals in pipeline 1: $(curl -s -b admin.jar "$B/api/v1/pipelines/1" > /dev/null; sqlite3 "$DB" "SELECT COUNT(*) FROM opportunities WHERE pipeline_id = 1 AND status = 'open'" 2>/dev/null || echo '?')"
timed "board, admin" admin.jar /pipelines/1/board
timed "board, sales rep" rep.jar /pipelines/1/board
ROUNDS=3 timed "win probability (fit + score the pipeline)" admin.jar /pipelines/1/win_probability.json
