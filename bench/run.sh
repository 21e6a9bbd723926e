#!/usr/bin/env bash
# Rapport on SQLite and on PostgreSQL vs the reference Flask + SQLAlchemy CRM (../shared/peer),
# side by side, in one run.
#
# Usage: bench/run.sh            (from anywhere; takes ~8-12 minutes on 2 cores once the build is done)
#
# Builds `rapport` in release (honours CARGO_TARGET_DIR), creates a fresh demo database of PEOPLE
# people in a temporary directory (SQLite) and in a fresh PostgreSQL database created for the run on
# PG_URL's server (dropped at the end), seeds the reference app with the same number of customers,
# starts the three servers on loopback, logs in to both Rapports, prints the URLs the load generator
# will hit, runs every scenario with wrk for the same DURATION/THREADS/CONNS against each, one server
# at a time, stops the servers and prints a markdown table (req/s, p50/p90/p95/p99 ms, errors,
# Rapport/reference ratio) for BENCHMARKS.md.
#
# Env (defaults):  DURATION=10s THREADS=2 CONNS=32 PEOPLE=100000
#                  SCENARIOS="get_id list search search_1conn create"
#                  ENGINES="sqlite postgres" (the Rapport runs; `sqlite` alone skips PostgreSQL)
#                  PG_URL=postgres://postgres@127.0.0.1:5432/postgres (a server on loopback and a
#                    role that may CREATE DATABASE; needs psql: apt-get install -y postgresql-client)
#                  RAPPORT_PORT=18080 RAPPORT_PG_PORT=18081 PEER_PORT=15000
#                  BENCH_HOST=127.0.0.1 (must be loopback)  PEER_DIR=<shared>/peer
#                  SEARCH_TERMS="zoe,jose,muller,garcia,nakamura,kow,ander,nordic,555 01,jose garcia"
#                  SETUP_TIMEOUT=1200 (seconds allowed for building each database)
#                  RAPPORT_BIN (use this binary and skip the build)
#                  OUT_DIR (where the RESULT json lines, wrk reports and server logs are kept; default: a new temp dir)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10s}"; THREADS="${THREADS:-2}"; CONNS="${CONNS:-32}"
PEOPLE="${PEOPLE:-100000}"
SCENARIOS="${SCENARIOS:-get_id list search search_1conn create}"
ENGINES="${ENGINES:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
HOST="${BENCH_HOST:-127.0.0.1}"
RAPPORT_PORT="${RAPPORT_PORT:-18080}"; RAPPORT_PG_PORT="${RAPPORT_PG_PORT:-18081}"; PEER_PORT="${PEER_PORT:-15000}"
# shared/ sits beside the repository (/work/main) or beside the worktrees' folder (/work/wt/NAME).
if [ -z "${PEER_DIR:-}" ]; then
  PEER_DIR="$REPO/../shared/peer"
  [ -d "$PEER_DIR" ] || PEER_DIR="$REPO/../../shared/peer"
fi
SETUP_TIMEOUT="${SETUP_TIMEOUT:-1200}"
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

has_engine() { case " $ENGINES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for e in $ENGINES; do
  case "$e" in sqlite|postgres) ;; *) die "unknown engine $e in ENGINES (sqlite, postgres)" ;; esac
done

RAPPORT_BASE="http://$HOST:$RAPPORT_PORT"
RAPPORT_PG_BASE="http://$HOST:$RAPPORT_PG_PORT"
PEER_BASE="http://$HOST:$PEER_PORT"
for u in "$RAPPORT_BASE" "$RAPPORT_PG_BASE" "$PEER_BASE"; do
  is_loopback_url "$u" || die "refusing: load targets must be on loopback (127.0.0.0/8, localhost, [::1]); got $u"
done
for tool in wrk curl python3 cargo timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (wrk: apt-get install -y wrk)"
done
if has_engine postgres; then
  command -v psql >/dev/null || die "psql not found (apt-get install -y postgresql-client), or run with ENGINES=sqlite"
  # The database server must be on this machine too: the comparison is of engines, not networks.
  pg_host="$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname or "")' "$PG_URL")"
  case "$pg_host" in 127.*|localhost|::1) ;; *) die "refusing: PG_URL must point at a PostgreSQL server on loopback; got host '$pg_host'" ;; esac
  timeout 20 psql "$PG_URL" -XAtqc 'SELECT 1' >/dev/null 2>&1 || die "cannot connect to PG_URL ($PG_URL); start PostgreSQL or run with ENGINES=sqlite"
fi
[ -x "$PEER_DIR/run_peer.sh" ] || die "reference implementation not found at $PEER_DIR (set PEER_DIR)"
for port in "$RAPPORT_PORT" "$RAPPORT_PG_PORT" "$PEER_PORT"; do
  if curl -s -o /dev/null --max-time 2 "http://$HOST:$port/"; then die "something already listens on $HOST:$port; set RAPPORT_PORT / RAPPORT_PG_PORT / PEER_PORT"; fi
done

# ---------------------------------------------------------------- build
if [ -n "${RAPPORT_BIN:-}" ]; then
  BIN="$(cd "$(dirname "$RAPPORT_BIN")" && pwd)/$(basename "$RAPPORT_BIN")"
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
RAPPORT_PID=""; RAPPORT_PG_PID=""; PEER_PID=""; SEED_PID=""
PG_DB=""; PG_DB_URL=""

stop() { # stop a process we started, by its pid; TERM first, KILL after 10 s
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$RAPPORT_PID"; stop "$RAPPORT_PG_PID"; stop "$PEER_PID"; stop "$SEED_PID"
  if [ -n "$PG_DB" ]; then
    timeout 30 psql "$PG_URL" -Xqc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 \
      || echo "bench: could not drop the database $PG_DB; drop it by hand" >&2
  fi
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

# rapport runs inside WORK (demo writes its key file, rapport.key, to the working directory and
# serve reads it from there: not the caller's folder), with no database or keys inherited from the
# caller's environment.
# (Inline subshells that exec, not a function: `$!` of a backgrounded function is a shell that
# waits for rapport, and stopping that shell would leave rapport running.)
RAPPORT_ENV=(env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS)

build_demo() { # NAME DATABASE_URL LOG
  local t0; t0=$(date +%s)
  echo "== building the Rapport demo database with $PEOPLE people on $1"
  (cd "$WORK" && exec timeout "$SETUP_TIMEOUT" "${RAPPORT_ENV[@]}" "$BIN" --database "$2" demo --people "$PEOPLE" --no-serve) > "$3" 2>&1 \
    || { tail -5 "$3" >&2; die "demo database build on $1 failed (log: $3)"; }
  echo "   built in $(( $(date +%s) - t0 )) s"
}

# ---------------------------------------------------------------- databases and servers
t_start=$(date +%s)
echo "== seeding the reference app with $PEOPLE customers and starting it on $PEER_BASE (background)"
# run_peer.sh seeds, then execs gunicorn: its pid becomes the gunicorn master's.
CRM_DB="$WORK/peer.db" PORT="$PEER_PORT" "$PEER_DIR/run_peer.sh" "$PEOPLE" > "$OUT_DIR/peer.log" 2>&1 &
PEER_PID=$!

if has_engine sqlite; then
  build_demo SQLite "$WORK/rapport.db" "$OUT_DIR/rapport-demo.log"
  (cd "$WORK" && exec "${RAPPORT_ENV[@]}" "$BIN" --database "$WORK/rapport.db" serve --addr "$HOST:$RAPPORT_PORT") > "$OUT_DIR/rapport.log" 2>&1 &
  RAPPORT_PID=$!
  wait_http "$RAPPORT_BASE/healthz" 60 "$RAPPORT_PID"
  echo "== Rapport on SQLite is up on $RAPPORT_BASE (pid $RAPPORT_PID)"
fi
if has_engine postgres; then
  PG_DB="rapport_bench_$$_$(date +%s)"
  timeout 30 psql "$PG_URL" -Xv ON_ERROR_STOP=1 -qc "CREATE DATABASE $PG_DB" >/dev/null || { PG_DB=""; die "could not create a database on $PG_URL"; }
  PG_DB_URL="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG_URL" "$PG_DB")"
  echo "== fresh PostgreSQL database $PG_DB_URL (dropped at exit)"
  build_demo PostgreSQL "$PG_DB_URL" "$OUT_DIR/rapport-pg-demo.log"
  (cd "$WORK" && exec "${RAPPORT_ENV[@]}" "$BIN" --database "$PG_DB_URL" serve --addr "$HOST:$RAPPORT_PG_PORT") > "$OUT_DIR/rapport-pg.log" 2>&1 &
  RAPPORT_PG_PID=$!
  wait_http "$RAPPORT_PG_BASE/healthz" 60 "$RAPPORT_PG_PID"
  echo "== Rapport on PostgreSQL is up on $RAPPORT_PG_BASE (pid $RAPPORT_PG_PID)"
fi
echo "== waiting for the reference app"
wait_http "$PEER_BASE/health" "$SETUP_TIMEOUT" "$PEER_PID"
echo "== reference app is up on $PEER_BASE (pid $PEER_PID), $(( $(date +%s) - t_start )) s since the start of setup"

login() { # BASE: prints a bearer token
  curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "$1/api/v1/auth/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
TOKEN=""; TOKEN_PG=""
if has_engine sqlite; then TOKEN="$(login "$RAPPORT_BASE")" || die "login on $RAPPORT_BASE failed"; fi
if has_engine postgres; then TOKEN_PG="$(login "$RAPPORT_PG_BASE")" || die "login on $RAPPORT_PG_BASE failed"; fi

# ---------------------------------------------------------------- the URLs, checked before any load
cursor_example="$(printf '{"s":"id","k":%d,"id":%d}' $((PEOPLE / 2)) $((PEOPLE / 2)) | base64 -w0 | tr '+/' '-_' | tr -d '=')"
urlenc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
IFS=',' read -r -a terms <<< "$SEARCH_TERMS"
search_urls() { for t in "${terms[@]}"; do echo "$1/api/v1/customers?q=$(urlenc "$t")&limit=20"; done; }
last=$((PEOPLE - 20))
RAPPORTS=()  # "label base token" of each Rapport run
if has_engine sqlite; then RAPPORTS+=("rapport $RAPPORT_BASE $TOKEN"); fi
if has_engine postgres; then RAPPORTS+=("rapport_pg $RAPPORT_PG_BASE $TOKEN_PG"); fi
echo
echo "== URLs the load generator will request (each scenario: wrk -t$THREADS -c$CONNS -d$DURATION, one server at a time)"
for r in "${RAPPORTS[@]}"; do
  read -r label base _ <<< "$r"
  case "$label" in rapport) name="Rapport on SQLite" ;; *) name="Rapport on PostgreSQL" ;; esac
  echo "   $name (header Authorization: Bearer <token from POST $base/api/v1/auth/login>):"
  echo "     get_id  GET  $base/api/v1/customers/{id}                 id uniform in 1..$PEOPLE"
  echo "     list    GET  $base/api/v1/customers?limit=20&sort=id&cursor={c}   c = base64url({\"s\":\"id\",\"k\":K,\"id\":K}), K uniform in 0..$last"
  echo "                  e.g. $base/api/v1/customers?limit=20&sort=id&cursor=$cursor_example"
  echo "     search, search_1conn (same URLs, 1 thread and 1 connection)  GET  (uniformly one of)"
  while read -r u; do echo "                  $u"; done < <(search_urls "$base")
  echo "     create  POST $base/api/v1/customers   body {\"name\",\"email\":unique per request,\"phone\",\"address\":{\"street\"}}"
done
echo "   Reference app:"
echo "     get_id  GET  $PEER_BASE/customers/{id}                             id uniform in 1..$PEOPLE"
echo "     list    GET  $PEER_BASE/customers?limit=20&offset={K}             K uniform in 0..$last (its only paging)"
echo "     search  -    (the reference app has no search)"
echo "     create  POST $PEER_BASE/customers   body {\"name\",\"email\":unique per request,\"phone\",\"address\"}"
echo
for r in "${RAPPORTS[@]}"; do
  read -r _ base _ <<< "$r"
  while read -r u; do is_loopback_url "$u" || die "refusing: $u is not on loopback"; done < <(search_urls "$base")
done

check() { # URL [curl args...]: must answer 2xx; prints status and size
  local url="$1"; shift
  local out; out="$(curl -s -o /dev/null -w '%{http_code} %{size_download}B %{time_total}s' --max-time 10 "$@" "$url")"
  echo "   check $out  $url"
  case "$out" in 2*) ;; *) die "sanity check failed for $url";; esac
}
for r in "${RAPPORTS[@]}"; do
  read -r _ base token <<< "$r"
  AUTH=(-H "Authorization: Bearer $token")
  check "$base/api/v1/customers/$PEOPLE" "${AUTH[@]}"
  check "$base/api/v1/customers?limit=20&sort=id&cursor=$cursor_example" "${AUTH[@]}"
  # a search that finds nothing makes a fast but meaningless benchmark: say so loudly
  while read -r u; do
    check "$u" "${AUTH[@]}"
    n="$(curl -sf --max-time 10 "${AUTH[@]}" "$u" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')"
    echo "   $n rows  $u"
    [ "$n" -gt 0 ] || echo "WARNING: search returned no rows (benchmarked anyway; consider SEARCH_TERMS): $u" >&2
  done < <(search_urls "$base")
done
check "$PEER_BASE/customers/$PEOPLE"
check "$PEER_BASE/customers?limit=20&offset=$((PEOPLE / 2))"

# ---------------------------------------------------------------- load
export WRK_DIR="$HERE/wrk" ID_MAX="$PEOPLE" LIST_LIMIT=20
run_wrk() { # TARGET SCENARIO SCRIPT BASE TOKEN [THREADS CONNS]
  local target="$1" scenario="$2" script="$3" base="$4" token="$5" t="${6:-$THREADS}" c="${7:-$CONNS}"
  is_loopback_url "$base" || die "refusing: $base is not on loopback"
  echo "=== $scenario on $target: wrk -t$t -c$c -d$DURATION --latency -s bench/wrk/$script.lua $base"
  local out
  out="$(TARGET="$target" TOKEN="$token" SCENARIO="$scenario" LOAD_NONCE="$(date +%s%N)" \
    timeout 300 wrk -t"$t" -c"$c" -d"$DURATION" --timeout 10s --latency -s "$WRK_DIR/$script.lua" "$base")" \
    || die "wrk failed for $scenario on $target"
  echo "$out" >> "$OUT_DIR/wrk.log"
  echo "$out" | grep -v '^RESULT ' | sed -n '/Thread Stats/,/Transfer/p'
  echo "$out" | grep '^RESULT ' | sed 's/^RESULT //' | tee -a "$RESULTS"
  sleep 2
}
each_rapport() { # SCENARIO SCRIPT [THREADS CONNS]
  local r label base token
  for r in "${RAPPORTS[@]}"; do
    read -r label base token <<< "$r"
    run_wrk "$label" "$1" "$2" "$base" "$token" "${3:-}" "${4:-}"
  done
}
for s in $SCENARIOS; do
  case "$s" in
    get_id) each_rapport get_id get_id; run_wrk peer get_id get_id "$PEER_BASE" "" ;;
    list)   each_rapport list list; run_wrk peer list list "$PEER_BASE" "" ;;
    search) each_rapport search search ;;
    search_1conn) each_rapport search_1conn search 1 1 ;;  # latency without queueing
    create) each_rapport create post_customer; run_wrk peer create post_customer "$PEER_BASE" "" ;;
    *) die "unknown scenario $s (get_id, list, search, search_1conn, create)" ;;
  esac
done

stop "$RAPPORT_PID"; RAPPORT_PID=""
stop "$RAPPORT_PG_PID"; RAPPORT_PG_PID=""
stop "$PEER_PID"; PEER_PID=""
for port in "$RAPPORT_PORT" "$RAPPORT_PG_PORT" "$PEER_PORT"; do
  if curl -s -o /dev/null --max-time 2 "http://$HOST:$port/"; then echo "WARNING: something still listens on $HOST:$port" >&2; fi
done
echo "== servers stopped"

# ---------------------------------------------------------------- table
echo
echo "Rapport on $(echo "$ENGINES" | sed 's/sqlite/SQLite/; s/postgres/PostgreSQL/; s/ / and /') vs reference (Flask + SQLAlchemy, gunicorn 2 workers), $PEOPLE people, wrk -t$THREADS -c$CONNS -d$DURATION, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["target"], r["scenario"]): r for r in rows}
order = []
for r in rows:
    if r["scenario"] not in order:
        order.append(r["scenario"])
names = (("rapport", "Rapport SQLite"), ("rapport_pg", "Rapport PostgreSQL"), ("peer", "reference"))
print("| scenario | server | req/s | p50 ms | p90 ms | p95 ms | p99 ms | errors | Rapport/reference req/s |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in order:
    p = by.get(("peer", s))
    for target, name in names:
        x = by.get((target, s))
        if x is None:
            if target == "peer":
                print(f"| {s} | {name} | — | — | — | — | — | — | (no such route) |")
            continue
        l = x["lat_ms"]
        errs = sum(x["errors"].values())
        ratio = f"**{x['rps'] / p['rps']:.1f}×**" if (target != "peer" and p and p["rps"] > 0) else ""
        print(f"| {s} | {name} | {x['rps']:,.0f} | {l['p50']:.2f} | {l['p90']:.2f} | {l['p95']:.2f} | {l['p99']:.2f} | {errs} | {ratio} |")
print()
def verdict(ok): return "met" if ok else "MISSED"
gp = by.get(("peer", "get_id"))
for target, name in names[:2]:
    g, se = by.get((target, "get_id")), by.get((target, "search"))
    if g and gp:
        ratio = g["rps"] / gp["rps"]
        print(f"- {name}: target GET by id >= 20x reference req/s: {ratio:.1f}x -> {verdict(ratio >= 20)}; "
              f"p99 < 5 ms: {g['lat_ms']['p99']:.2f} ms -> {verdict(g['lat_ms']['p99'] < 5)}")
    if se:
        print(f"- {name}: target search p95 < 20 ms: {se['lat_ms']['p95']:.2f} ms -> {verdict(se['lat_ms']['p95'] < 20)}")
pg = [(s, by.get(("rapport_pg", s)), by.get(("rapport", s))) for s in order]
pg = [(s, a, b) for s, a, b in pg if a and b and b["rps"] > 0]
if pg:
    print("- PostgreSQL/SQLite req/s: " + ", ".join(f"{s} {a['rps'] / b['rps']:.2f}" for s, a, b in pg))
PY
echo; echo "raw results (results.jsonl), wrk reports and server logs: $OUT_DIR"
