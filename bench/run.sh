#!/usr/bin/env bash
# Rapport vs the reference Flask + SQLAlchemy CRM (../shared/peer), side by side, in one run.
#
# Usage: bench/run.sh            (from anywhere; takes ~5-8 minutes on 2 cores once the build is done)
#
# Builds `rapport` in release (honours CARGO_TARGET_DIR), creates a fresh demo database of PEOPLE
# people in a temporary directory, seeds the reference app with the same number of customers, starts
# both on loopback, logs in to Rapport, prints the URLs the load generator will hit, runs every
# scenario with wrk for the same DURATION/THREADS/CONNS on both sides, stops both servers and prints a
# markdown table (req/s, p50/p90/p95/p99 ms, errors, Rapport/peer ratio).
#
# Env (defaults):  DURATION=10s THREADS=2 CONNS=32 PEOPLE=100000
#                  SCENARIOS="get_id list search search_1conn create"  RAPPORT_PORT=18080  PEER_PORT=15000
#                  BENCH_HOST=127.0.0.1 (must be loopback)  PEER_DIR=<repo>/../shared/peer
#                  SEARCH_TERMS="zoe,jose,muller,garcia,nakamura,kow,ander,nordic,555 01,jose garcia"
#                  SETUP_TIMEOUT=600 (seconds allowed for building the two databases)
#                  RAPPORT_BIN (use this binary and skip the build)
#                  OUT_DIR (where the RESULT json lines, wrk reports and server logs are kept; default: a new temp dir)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10s}"; THREADS="${THREADS:-2}"; CONNS="${CONNS:-32}"
PEOPLE="${PEOPLE:-100000}"
SCENARIOS="${SCENARIOS:-get_id list search search_1conn create}"
HOST="${BENCH_HOST:-127.0.0.1}"
RAPPORT_PORT="${RAPPORT_PORT:-18080}"; PEER_PORT="${PEER_PORT:-15000}"
PEER_DIR="${PEER_DIR:-$REPO/../shared/peer}"
SETUP_TIMEOUT="${SETUP_TIMEOUT:-600}"
export SEARCH_TERMS="${SEARCH_TERMS:-zoe,jose,muller,garcia,nakamura,kow,ander,nordic,555 01,jose garcia}"
ADMIN_EMAIL="admin@rapport.test"; ADMIN_PASSWORD="rapport-demo-password"

die() { echo "bench: $*" >&2; exit 2; }

# Only ever load loopback: same rule as the peer's load.sh.
is_loopback_url() {
  case "$1" in
    http://127.*|http://localhost|http://localhost[:/]*|http://\[::1\]*) return 0 ;;
    *) return 1 ;;
  esac
}

RAPPORT_BASE="http://$HOST:$RAPPORT_PORT"
PEER_BASE="http://$HOST:$PEER_PORT"
for u in "$RAPPORT_BASE" "$PEER_BASE"; do
  is_loopback_url "$u" || die "refusing: load targets must be on loopback (127.0.0.0/8, localhost, [::1]); got $u"
done
for tool in wrk curl python3 cargo timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (wrk: apt-get install -y wrk)"
done
[ -x "$PEER_DIR/run_peer.sh" ] || die "reference implementation not found at $PEER_DIR (set PEER_DIR)"
for port in "$RAPPORT_PORT" "$PEER_PORT"; do
  if curl -s -o /dev/null --max-time 2 "http://$HOST:$port/"; then die "something already listens on $HOST:$port; set RAPPORT_PORT / PEER_PORT"; fi
done

# ---------------------------------------------------------------- build
if [ -n "${RAPPORT_BIN:-}" ]; then
  BIN="$RAPPORT_BIN"
  echo "== using the prebuilt binary RAPPORT_BIN=$BIN (no build)"
else
  echo "== building rapport (release)"
  (cd "$REPO" && cargo build --release -p rapport-cli) || die "release build failed"
  TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
  case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
  BIN="$TARGET_DIR/release/rapport"
fi
[ -x "$BIN" ] || die "binary not found at $BIN"
echo "   $("$BIN" --version) ($BIN, modified $(date -u -r "$BIN" +%Y-%m-%dT%H:%MZ))"
[ -n "${RAPPORT_BIN:-}" ] || echo "   source: git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- crates Cargo.lock 2>/dev/null || echo ' + uncommitted changes')"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rapport-bench.XXXXXX")"          # databases: deleted at exit
OUT_DIR="${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/rapport-bench-out.XXXXXX")}"  # logs and results: kept
mkdir -p "$OUT_DIR"
RESULTS="$OUT_DIR/results.jsonl"; : > "$RESULTS"
RAPPORT_PID=""; PEER_PID=""; SEED_PID=""

stop() { # stop a process we started, by its pid; TERM first, KILL after 10 s
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$RAPPORT_PID"; stop "$PEER_PID"; stop "$SEED_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # URL TIMEOUT_S PID: wait until URL answers 2xx, the process is alive, or give up
  local url="$1" limit="$2" pid="$3" t=0
  until curl -sf -o /dev/null --max-time 2 "$url"; do
    kill -0 "$pid" 2>/dev/null || die "server for $url exited (see logs in $OUT_DIR)"
    [ "$t" -ge "$limit" ] && die "timed out after ${limit}s waiting for $url"
    sleep 1; t=$((t + 1))
  done
}

# ---------------------------------------------------------------- databases and servers
echo "== seeding the reference app with $PEOPLE customers and starting it on $PEER_BASE (background)"
# run_peer.sh seeds, then execs gunicorn: its pid becomes the gunicorn master's.
CRM_DB="$WORK/peer.db" PORT="$PEER_PORT" "$PEER_DIR/run_peer.sh" "$PEOPLE" > "$OUT_DIR/peer.log" 2>&1 &
PEER_PID=$!

echo "== building the Rapport demo database with $PEOPLE people"
t0=$(date +%s)
timeout "$SETUP_TIMEOUT" "$BIN" --database "$WORK/rapport.db" demo --people "$PEOPLE" --no-serve > "$OUT_DIR/rapport-demo.log" 2>&1 \
  || { tail -5 "$OUT_DIR/rapport-demo.log" >&2; die "demo database build failed"; }
echo "   built in $(( $(date +%s) - t0 )) s"
"$BIN" --database "$WORK/rapport.db" serve --addr "$HOST:$RAPPORT_PORT" > "$OUT_DIR/rapport.log" 2>&1 &
RAPPORT_PID=$!
wait_http "$RAPPORT_BASE/healthz" 60 "$RAPPORT_PID"
echo "== Rapport is up on $RAPPORT_BASE (pid $RAPPORT_PID); waiting for the reference app"
wait_http "$PEER_BASE/health" "$SETUP_TIMEOUT" "$PEER_PID"
echo "== reference app is up on $PEER_BASE (pid $PEER_PID), seeded in $(( $(date +%s) - t0 )) s since start"

TOKEN="$(curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "$RAPPORT_BASE/api/v1/auth/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')" || die "login failed"
export TOKEN

# ---------------------------------------------------------------- the URLs, checked before any load
cursor_example="$(printf '{"s":"id","k":%d,"id":%d}' 50000 50000 | base64 -w0 | tr '+/' '-_' | tr -d '=')"
urlenc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
SEARCH_URLS=()
IFS=',' read -r -a terms <<< "$SEARCH_TERMS"
for t in "${terms[@]}"; do SEARCH_URLS+=("$RAPPORT_BASE/api/v1/customers?q=$(urlenc "$t")&limit=20"); done
last=$((PEOPLE - 20))
echo
echo "== URLs the load generator will request (each scenario: wrk -t$THREADS -c$CONNS -d$DURATION)"
echo "   Rapport (header Authorization: Bearer <token from POST $RAPPORT_BASE/api/v1/auth/login>):"
echo "     get_id  GET  $RAPPORT_BASE/api/v1/customers/{id}                 id uniform in 1..$PEOPLE"
echo "     list    GET  $RAPPORT_BASE/api/v1/customers?limit=20&sort=id&cursor={c}   c = base64url({\"s\":\"id\",\"k\":K,\"id\":K}), K uniform in 0..$last"
echo "                  e.g. $RAPPORT_BASE/api/v1/customers?limit=20&sort=id&cursor=$cursor_example"
echo "     search, search_1conn (same URLs, 1 thread and 1 connection)  GET  (uniformly one of)"
for u in "${SEARCH_URLS[@]}"; do echo "                  $u"; done
echo "     create  POST $RAPPORT_BASE/api/v1/customers   body {\"name\",\"email\":unique per request,\"phone\",\"address\":{\"street\"}}"
echo "   Reference app:"
echo "     get_id  GET  $PEER_BASE/customers/{id}                             id uniform in 1..$PEOPLE"
echo "     list    GET  $PEER_BASE/customers?limit=20&offset={K}             K uniform in 0..$last (its only paging)"
echo "     search  -    (the reference app has no search)"
echo "     create  POST $PEER_BASE/customers   body {\"name\",\"email\":unique per request,\"phone\",\"address\"}"
echo
for u in "${SEARCH_URLS[@]}" "$RAPPORT_BASE" "$PEER_BASE"; do
  is_loopback_url "$u" || die "refusing: $u is not on loopback"
done

check() { # URL [curl args...]: must answer 2xx; prints status and size
  local url="$1"; shift
  local out; out="$(curl -s -o /dev/null -w '%{http_code} %{size_download}B %{time_total}s' --max-time 10 "$@" "$url")"
  echo "   check $out  $url"
  case "$out" in 2*) ;; *) die "sanity check failed for $url";; esac
}
AUTH=(-H "Authorization: Bearer $TOKEN")
check "$RAPPORT_BASE/api/v1/customers/$PEOPLE" "${AUTH[@]}"
check "$RAPPORT_BASE/api/v1/customers?limit=20&sort=id&cursor=$cursor_example" "${AUTH[@]}"
for u in "${SEARCH_URLS[@]}"; do check "$u" "${AUTH[@]}"; done
check "$PEER_BASE/customers/$PEOPLE"
check "$PEER_BASE/customers?limit=20&offset=50000"
# a search that finds nothing makes a fast but meaningless benchmark: say so loudly
for u in "${SEARCH_URLS[@]}"; do
  n="$(curl -sf --max-time 10 "${AUTH[@]}" "$u" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')"
  echo "   $n rows  $u"
  [ "$n" -gt 0 ] || echo "WARNING: search returned no rows (benchmarked anyway; consider SEARCH_TERMS): $u" >&2
done

# ---------------------------------------------------------------- load
export WRK_DIR="$HERE/wrk" ID_MAX="$PEOPLE" LIST_LIMIT=20
run_wrk() { # TARGET SCENARIO SCRIPT BASE [THREADS CONNS]
  local target="$1" scenario="$2" script="$3" base="$4" t="${5:-$THREADS}" c="${6:-$CONNS}"
  is_loopback_url "$base" || die "refusing: $base is not on loopback"
  echo "=== $scenario on $target: wrk -t$t -c$c -d$DURATION --latency -s bench/wrk/$script.lua $base"
  local out
  out="$(TARGET="$target" SCENARIO="$scenario" LOAD_NONCE="$(date +%s%N)" \
    timeout 300 wrk -t"$t" -c"$c" -d"$DURATION" --timeout 10s --latency -s "$WRK_DIR/$script.lua" "$base")" \
    || die "wrk failed for $scenario on $target"
  echo "$out" >> "$OUT_DIR/wrk.log"
  echo "$out" | grep -v '^RESULT ' | sed -n '/Thread Stats/,/Transfer/p'
  echo "$out" | grep '^RESULT ' | sed 's/^RESULT //' | tee -a "$RESULTS"
  sleep 2
}
for s in $SCENARIOS; do
  case "$s" in
    get_id) run_wrk rapport get_id get_id "$RAPPORT_BASE"; run_wrk peer get_id get_id "$PEER_BASE" ;;
    list)   run_wrk rapport list list "$RAPPORT_BASE"; run_wrk peer list list "$PEER_BASE" ;;
    search) run_wrk rapport search search "$RAPPORT_BASE" ;;
    search_1conn) run_wrk rapport search_1conn search "$RAPPORT_BASE" 1 1 ;;  # latency without queueing
    create) run_wrk rapport create post_customer "$RAPPORT_BASE"; run_wrk peer create post_customer "$PEER_BASE" ;;
    *) die "unknown scenario $s (get_id, list, search, search_1conn, create)" ;;
  esac
done

stop "$RAPPORT_PID"; RAPPORT_PID=""
stop "$PEER_PID"; PEER_PID=""
echo "== both servers stopped"

# ---------------------------------------------------------------- table
echo
echo "Rapport vs reference (Flask + SQLAlchemy, gunicorn 2 workers), $PEOPLE people, wrk -t$THREADS -c$CONNS -d$DURATION, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["target"], r["scenario"]): r for r in rows}
order = []
for r in rows:
    if r["scenario"] not in order:
        order.append(r["scenario"])
print("| scenario | server | req/s | p50 ms | p90 ms | p95 ms | p99 ms | errors | Rapport/peer req/s |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in order:
    r, p = by.get(("rapport", s)), by.get(("peer", s))
    for name, x in (("Rapport", r), ("reference", p)):
        if x is None:
            if name == "reference":
                print(f"| {s} | {name} | — | — | — | — | — | — | (no such route) |")
            continue
        l = x["lat_ms"]
        errs = sum(x["errors"].values())
        ratio = f"**{r['rps'] / p['rps']:.1f}×**" if (name == "Rapport" and r and p and p["rps"] > 0) else ""
        print(f"| {s} | {name} | {x['rps']:,.0f} | {l['p50']:.2f} | {l['p90']:.2f} | {l['p95']:.2f} | {l['p99']:.2f} | {errs} | {ratio} |")
print()
def verdict(ok): return "met" if ok else "MISSED"
g, gp, se = by.get(("rapport", "get_id")), by.get(("peer", "get_id")), by.get(("rapport", "search"))
if g and gp:
    ratio = g["rps"] / gp["rps"]
    print(f"- Target GET by id >= 20x reference req/s: {ratio:.1f}x -> {verdict(ratio >= 20)}; "
          f"p99 < 5 ms: {g['lat_ms']['p99']:.2f} ms -> {verdict(g['lat_ms']['p99'] < 5)}")
if se:
    print(f"- Target search p95 < 20 ms: {se['lat_ms']['p95']:.2f} ms -> {verdict(se['lat_ms']['p95'] < 20)}")
PY
echo; echo "raw results (results.jsonl), wrk reports and server logs: $OUT_DIR"
