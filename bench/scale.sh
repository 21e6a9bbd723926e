#!/usr/bin/env bash
# Issue 10 at a million people: builds or reuses the 1,000,000-people database on each engine
# (bench/scale_db.sh), serves each with `rapport serve` on loopback, and prints per engine, as an
# admin and as a sales rep (record-level visibility on): search per term, each documented people
# filter and pairs of them with each sort, GET by id and keyset list pages. One client, one
# request at a time (curl), ROUNDS rounds of each; milliseconds from curl's time_total.
#
#   bench/scale.sh                                  # both engines
#   ENGINES=sqlite ROUNDS=3 bench/scale.sh
#
# Settings: everything bench/scale_db.sh takes (RAPPORT_BIN, SCALE_DIR, PEOPLE_BASE, FACTOR,
# ENGINES, PG_URL, PG_DB), ROUNDS (default 3), PORT_SQLITE (18090), PORT_PG (18091),
# REP_EMAIL (default tom@rapport.test: a rep of a private team, who sees only their own people),
# SEARCH_TERMS (comma-separated), OUT_DIR (raw timings; default a new temporary directory).
# The serve logs and raw timings are kept in OUT_DIR.
#
# Not measured here yet (other items of issue 10; rows left for them): create at 32 connections
# against the reference, demo build time and peak memory, analytics read time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export RAPPORT_BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
ENGINES="${ENGINES:-sqlite postgres}"
ROUNDS="${ROUNDS:-3}"
PORT_SQLITE="${PORT_SQLITE:-18090}"
PORT_PG="${PORT_PG:-18091}"
REP_EMAIL="${REP_EMAIL:-tom@rapport.test}"
PASSWORD="rapport-demo-password"
SEARCH_TERMS="${SEARCH_TERMS:-zoe,jose garcia,chen,a,zo,jose,muller,garcia,nakamura,kow,ander,nordic,555 01,e,ma,lin,anna,sato,kim,berlin}"
OUT_DIR="${OUT_DIR:-$(mktemp -d /tmp/rapport-scale-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"

die() { echo "scale: $*" >&2; exit 1; }

# Builds or reuses the databases; scale_db prints where they are.
eval "$(ENGINES="$ENGINES" "$ROOT/bench/scale_db.sh" | tee /dev/stderr | grep -E '^(SQLITE|POSTGRES)_URL=' | tr ' ' '\n' | sed 's/^/export /')"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

serve() { # DIR DATABASE_URL PORT
  (cd "$1" && exec env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$RAPPORT_BIN" --database "$2" serve --addr "127.0.0.1:$3") > "$OUT_DIR/serve-$3.log" 2>&1 &
  PIDS+=($!)
  local t=0
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$3/healthz"; do
    [ "$t" -ge 600 ] && die "timed out waiting for 127.0.0.1:$3 (log $OUT_DIR/serve-$3.log)"
    sleep 1; t=$((t + 1))
  done
}

login() { # BASE EMAIL
  curl -sf --max-time 30 -H 'content-type: application/json' -d "{\"email\":\"$2\",\"password\":\"$PASSWORD\"}" \
    "$1/api/v1/auth/login" | jq -r .token
}

# One timed request: prints milliseconds; fails on a non-2xx answer.
timed() { # TOKEN URL
  local out code ms
  out=$(curl -s -o /dev/null --max-time 60 -w '%{http_code} %{time_total}' -H "authorization: Bearer $1" "$2")
  code=${out% *}; ms=$(awk -v s="${out#* }" 'BEGIN { printf "%.2f", s * 1000 }')
  [ "${code:0:1}" = 2 ] || { echo "scale: $2 answered $code" >&2; echo "ERR"; return; }
  echo "$ms"
}

# p50, p95 and max of the numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- | - | -"; exit }
  i50 = int(0.5 * NR + 0.5); i95 = int(0.95 * NR + 0.5); if (i50 < 1) i50 = 1; if (i95 < 1) i95 = 1;
  printf "%.1f | %.1f | %.1f", v[i50], v[i95], v[NR] }'; }

urlenc() { jq -rn --arg s "$1" '$s | @uri'; }

FILTERS=(
  "lifecycle_stage=customer" "lifecycle_stage=lead" "lead_status=working" "tag=vip" "rfm_tier=Champions" "segment=1"
  "owner_id=2" "company_id=17" "lifecycle_stage=customer&tag=vip" "lifecycle_stage=lead&lead_status=new"
  "rfm_tier=Champions&lifecycle_stage=customer" "created_after=2025-01-01"
)
SORTS=("" "sort=-updated_at" "sort=created_at" "sort=-id")

cursor_id() { printf '{"s":"id","k":%d,"id":%d}' "$1" "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }

bench_engine() { # NAME BASE
  local name=$1 base=$2 admin rep who tok raw t f s url max_id id
  admin=$(login "$base" admin@rapport.test); rep=$(login "$base" "$REP_EMAIL")
  [ -n "$admin" ] && [ "$admin" != null ] && [ -n "$rep" ] && [ "$rep" != null ] || die "login on $base failed"
  max_id=$(curl -sf -H "authorization: Bearer $admin" "$base/api/v1/customers?limit=1&sort=-id" | jq '.data[0].id')
  echo "== $name: $base (people ids up to $max_id), $ROUNDS rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "   requests: $base/api/v1/customers?q=TERM&limit=20, …?FILTER&SORT&limit=20, /api/v1/customers/ID, …?limit=20&sort=id&cursor=C"
  raw="$OUT_DIR/$name.tsv"; : > "$raw"
  for who in admin rep; do
    tok=$admin; [ "$who" = rep ] && tok=$rep
    for r in $(seq 1 "$ROUNDS"); do
      IFS=',' read -r -a terms <<< "$SEARCH_TERMS"
      for t in "${terms[@]}"; do
        printf '%s\tsearch\tq=%s\t%s\n' "$who" "$t" "$(timed "$tok" "$base/api/v1/customers?q=$(urlenc "$t")&limit=20")" >> "$raw"
      done
      for f in "${FILTERS[@]}"; do for s in "${SORTS[@]}"; do
        url="$base/api/v1/customers?$f${s:+&$s}&limit=20"
        printf '%s\tfilter\t%s\t%s\n' "$who" "$f${s:+&$s}" "$(timed "$tok" "$url")" >> "$raw"
      done; done
      for _ in $(seq 1 20); do
        # A random person this user may see (a rep sees only some): the first after a random id.
        id=$(curl -sf --max-time 60 -H "authorization: Bearer $tok" \
          "$base/api/v1/customers?limit=1&sort=id&cursor=$(cursor_id $(( (RANDOM * 32768 + RANDOM) % max_id + 1 )))" | jq '.data[0].id // 1')
        printf '%s\tget\tid\t%s\n' "$who" "$(timed "$tok" "$base/api/v1/customers/$id")" >> "$raw"
        printf '%s\tlist\tsort=id page\t%s\n' "$who" "$(timed "$tok" "$base/api/v1/customers?limit=20&sort=id&cursor=$(cursor_id $(( (RANDOM * 32768 + RANDOM) % max_id + 1 )))")" >> "$raw"
        printf '%s\tlist\tsort=name first page\t%s\n' "$who" "$(timed "$tok" "$base/api/v1/customers?limit=20")" >> "$raw"
      done
    done
  done
  grep -q ERR "$raw" && echo "   (some requests failed: see $raw)"
  echo
  echo "| $name | admin p50 | p95 | max | rep p50 | p95 | max |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for kind in search filter get list; do
    printf '| **%s, all** | %s | %s |\n' "$kind" "$(awk -F'\t' -v k=$kind '$1 == "admin" && $2 == k && $4 != "ERR" { print $4 }' "$raw" | stats)" \
      "$(awk -F'\t' -v k=$kind '$1 == "rep" && $2 == k && $4 != "ERR" { print $4 }' "$raw" | stats)"
  done
  awk -F'\t' '$1 == "admin" && ($2 == "search" || $2 == "filter") { print $3 }' "$raw" | awk '!seen[$0]++' | while read -r c; do
    printf '| `%s` | %s | %s |\n' "$c" "$(awk -F'\t' -v c="$c" '$1 == "admin" && $3 == c && $4 != "ERR" { print $4 }' "$raw" | stats)" \
      "$(awk -F'\t' -v c="$c" '$1 == "rep" && $3 == c && $4 != "ERR" { print $4 }' "$raw" | stats)"
  done
  echo "| create at 32 connections | TODO (issue 10 item 1) | | | | | |"
  echo "| demo build time, peak memory | TODO (issue 10 item 3) | | | | | |"
  echo "| analytics read of the purchase lines | TODO (issue 10 item 3) | | | | | |"
  echo
}

for e in $ENGINES; do
  case "$e" in
    sqlite) serve "$SQLITE_DIR" "$SQLITE_URL" "$PORT_SQLITE"; bench_engine "SQLite" "http://127.0.0.1:$PORT_SQLITE" ;;
    postgres) serve "$POSTGRES_DIR" "$POSTGRES_URL" "$PORT_PG"; bench_engine "PostgreSQL" "http://127.0.0.1:$PORT_PG" ;;
  esac
done
echo "raw timings and serve logs: $OUT_DIR"
