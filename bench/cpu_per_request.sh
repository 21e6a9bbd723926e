#!/usr/bin/env bash
# CPU per request, server and load generator apart: one bounded wrk run against a running-from-here
# Rapport, with the server's CPU ticks (from /proc) before and after and wrk's own CPU time.
#
# Usage: bench/cpu_per_request.sh DB_DIR [get_id|create|nope]
#   DB_DIR holds rapport.db and rapport.key from `rapport --database DB_DIR/rapport.db demo
#   --people 100000 --no-serve` run inside DB_DIR. `nope` requests an unknown URL (404, no auth,
#   no database): the floor of what a request costs. `create` adds people (each run grows the
#   database by its request count: use a copy).
# Env: RAPPORT_BIN (default target/release/rapport), DURATION=8s, PORT=18080 (loopback only),
#   ID_MAX=100000 (the people the database holds, for get_id).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(cd "${1:?DB_DIR}" && pwd)"; ROUTE="${2:-get_id}"
BIN="${RAPPORT_BIN:-$HERE/../target/release/rapport}"
DURATION="${DURATION:-8s}"; PORT="${PORT:-18080}"; BASE="http://127.0.0.1:$PORT"
for tool in wrk curl python3 timeout; do command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }; done
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 2; }
if curl -s -o /dev/null --max-time 2 "$BASE/"; then echo "something already listens on $BASE" >&2; exit 2; fi

cd "$DIR"
"$BIN" --database "$DIR/rapport.db" serve --addr "127.0.0.1:$PORT" > "$DIR/cpu-serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "$BASE/healthz" && break; sleep 0.2; done
TOKEN="$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d '{"email":"admin@rapport.test","password":"rapport-demo-password"}' "$BASE/api/v1/auth/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
export TOKEN WRK_DIR="$HERE/wrk" ID_MAX="${ID_MAX:-100000}" TARGET=rapport SCENARIO="$ROUTE"
case "$ROUTE" in
  get_id) SCRIPT="$HERE/wrk/get_id.lua"; echo "URLs: GET $BASE/api/v1/customers/{id}, id uniform in 1..$ID_MAX" ;;
  create) SCRIPT="$HERE/wrk/post_customer.lua"; export LOAD_NONCE="$(date +%s%N)"
          echo "URLs: POST $BASE/api/v1/customers, a unique email per request" ;;
  nope)   SCRIPT="$HERE/wrk/nope.lua";   echo "URLs: GET $BASE/api/v1/nope/{n}, n uniform in 1..100000" ;;
  *) echo "unknown route $ROUTE (get_id, create, nope)" >&2; exit 2 ;;
esac
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz="$(getconf CLK_TCK)"
t0="$(ticks)"
out="$(timeout 120 /usr/bin/time -f 'WRKCPU %U %S' wrk -t2 -c32 -d"$DURATION" -s "$SCRIPT" "$BASE" 2>&1)"
t1="$(ticks)"
python3 - "$out" "$t0" "$t1" "$hz" <<'PY'
import re, sys
out, t0, t1, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
reqs = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
u, s = map(float, re.search(r"WRKCPU ([\d.]+) ([\d.]+)", out).groups())
server = (t1 - t0) / hz
lat = re.search(r'"p50":([\d.]+).*"p99":([\d.]+)', out)
tail = f"; p50 {lat.group(1)} ms, p99 {lat.group(2)} ms" if lat else ""
print(f"{rps:,.0f} req/s; server CPU {server:.2f} s = {server / reqs * 1e6:.1f} us/request; "
      f"wrk CPU {u + s:.2f} s = {(u + s) / reqs * 1e6:.1f} us/request{tail}")
PY
