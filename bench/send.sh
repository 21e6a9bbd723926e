#!/usr/bin/env bash
# Issue 12: one email campaign to RECIPIENTS (100,000) people through a local SMTP sink
# (bench/smtp_sink.py, loopback), timed from the send request to the sink's last message, with
# the server's resident memory sampled each second (target: >= 1,000 messages/s, flat memory).
#
# The people are a demo's (`rapport demo --people PEOPLE --no-serve`, made once in BASE_DIR and
# copied for each run, so every run starts from the same database); the campaign, its template
# and its send go through the API; its members are added in SQL (every person with an address,
# by id, up to RECIPIENTS). The server runs with the sink as its relay and polls the queue each
# second. Printed: messages the sink took, seconds, messages per second, the server's RSS before
# the send and its peak (VmHWM) and the RSS at each tenth of the way, and the load average.
#
#   bench/send.sh                 # SQLite
#   DATABASE=postgres://postgres@127.0.0.1:5432/rapport_send_bench bench/send.sh
#   (the PostgreSQL database is made for the run from a dump of BASE_DIR's and dropped after)
#
# Settings: RAPPORT_BIN (default target/release/rapport), PEOPLE (100000), RECIPIENTS (100000),
# BASE_DIR (/tmp/rapport-send-base), PORT (18094), SINK_PORT (18025), SEND_TIMEOUT (900 s),
# OUT_DIR; RAPPORT_SMTP_CONNECTIONS (the server's mails in flight, default 10) reaches the server.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${RAPPORT_BIN:-$ROOT/target/release/rapport}"
PEOPLE="${PEOPLE:-100000}"; RECIPIENTS="${RECIPIENTS:-100000}"
BASE_DIR="${BASE_DIR:-/tmp/rapport-send-base}"
PORT="${PORT:-18094}"; SINK_PORT="${SINK_PORT:-18025}"; SEND_TIMEOUT="${SEND_TIMEOUT:-900}"
OUT="${OUT_DIR:-$(mktemp -d /tmp/rapport-send-bench.XXXXXX)}"
DATABASE="${DATABASE:-}"
die() { echo "send: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no rapport binary at $BIN"
case "$DATABASE" in ""|postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*) ;; *) die "DATABASE must be a loopback PostgreSQL URL";; esac

if ! grep -q "Demo company ready" "$BASE_DIR/demo.log" 2>/dev/null; then
  rm -rf "$BASE_DIR"; mkdir -p "$BASE_DIR"
  echo "== demo of $PEOPLE people in $BASE_DIR"
  (cd "$BASE_DIR" && timeout 1800 env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS \
    "$BIN" --database "$BASE_DIR/rapport.db" demo --people "$PEOPLE" --no-serve) > "$BASE_DIR/demo.log" 2>&1 || die "demo failed ($BASE_DIR/demo.log)"
fi
mkdir -p "$OUT/run"
cp "$BASE_DIR/rapport.key" "$OUT/run/"
sqlite3 "$BASE_DIR/rapport.db" ".backup '$OUT/run/rapport.db'"
if [ -n "$DATABASE" ]; then
  NAME="${DATABASE##*/}"; ADMIN_URL="${DATABASE%/*}/postgres"
  psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $NAME" -c "CREATE DATABASE $NAME"
  # The demo's data moves by `rapport backup` / `restore` (the same key opens it).
  (cd "$OUT/run" && timeout 1800 "$BIN" --database "$OUT/run/rapport.db" backup "$OUT/run/demo.backup" > "$OUT/backup.log" 2>&1 \
    && timeout 1800 "$BIN" --database "$DATABASE" restore "$OUT/run/demo.backup" > "$OUT/restore.log" 2>&1) || die "copy to PostgreSQL failed ($OUT)"
  DB="$DATABASE"
else
  DB="$OUT/run/rapport.db"
fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${ADMIN_URL:-}" ]; then psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $NAME" || true; fi
}
trap cleanup EXIT
B="http://127.0.0.1:$PORT"
echo "== URLs: $B (rapport), smtp://127.0.0.1:$SINK_PORT (sink); $RECIPIENTS recipients; database $DB"
python3 "$ROOT/bench/smtp_sink.py" "$SINK_PORT" "$OUT/sink.count" > "$OUT/sink.log" 2>&1 &
PIDS+=($!)
(cd "$OUT/run" && exec env -u RAPPORT_DATABASE_URL -u RAPPORT_KEY_FILE -u RAPPORT_KEYS "$BIN" --database "$DB" serve --addr "127.0.0.1:$PORT" \
  --public-url "$B" --smtp-url "smtp://127.0.0.1:$SINK_PORT" --mail-poll-secs 1) > "$OUT/serve.log" 2>&1 &
SERVER=$!; PIDS+=($SERVER)
for _ in $(seq 600); do curl -sf -o /dev/null --max-time 2 "$B/healthz" && break; sleep 1; done
curl -sf -o /dev/null --max-time 2 "$B/healthz" || die "the server did not start ($OUT/serve.log)"
api() { curl -sf --max-time 60 -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
TOKEN=$(curl -sf --max-time 30 -H 'content-type: application/json' -d '{"email":"admin@rapport.test","password":"rapport-demo-password"}' \
  "$B/api/v1/auth/login" | jq -r .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "login failed"
T=$(api -d '{"name": "Bench mail", "subject": "Hello {{first_name}}", "text_body": "Hello {{name}}, our news: https://shop.example/news",
  "html_body": "<p>Hello {{name}}</p><p><a href=\"https://shop.example/news\">Our news</a></p>"}' "$B/api/v1/email_templates" | jq -r .id)
C=$(api -d '{"name": "Bench send", "channel": "email", "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}' "$B/api/v1/campaigns" | jq -r .id)
MEMBERS="INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, updated_at)
  SELECT $C, id, 'member', 'bench', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z' FROM customers
  WHERE deleted_at IS NULL AND email_hash IS NOT NULL ORDER BY id LIMIT $RECIPIENTS"
if [ -n "$DATABASE" ]; then psql -X -q -v ON_ERROR_STOP=1 "$DATABASE" -c "$MEMBERS"
else printf '.timeout 30000\n%s;\n' "$MEMBERS" | sqlite3 "$DB"; fi
COUNT="SELECT count(*) FROM campaign_members WHERE campaign_id = $C"
if [ -n "$DATABASE" ]; then N=$(psql -X -At "$DATABASE" -c "$COUNT"); else N=$(sqlite3 "$DB" "$COUNT"); fi
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER/status"; }
RSS0=$(rss)
echo "== sending campaign $C (template $T) to $N members; server RSS before: $((RSS0 / 1024)) MB; load $(cut -d' ' -f1-3 /proc/loadavg)"
START=$(date +%s.%N)
api -d "{\"template_id\": $T}" "$B/api/v1/campaigns/$C/send" > "$OUT/send.json" || die "the send request failed"
samples=(); next=$((RECIPIENTS / 10)); n=0
while :; do
  sleep 1
  n=$(cut -d' ' -f1 "$OUT/sink.count" 2>/dev/null || echo 0)
  while [ "$n" -ge "$next" ] && [ "$next" -le "$RECIPIENTS" ]; do samples+=("$((next * 100 / RECIPIENTS))%:$(( $(rss) / 1024 ))MB"); next=$((next + RECIPIENTS / 10)); done
  [ "$n" -ge "$RECIPIENTS" ] && break
  [ "$(echo "$(date +%s.%N) - $START > $SEND_TIMEOUT" | bc)" = 1 ] && { echo "timed out after $SEND_TIMEOUT s"; break; }
done
read -r n first last < "$OUT/sink.count"
secs=$(echo "$last - $START" | bc -l)
printf '== %d messages in %.1f s from the request (first to last at the sink: %.1f s): %.0f messages/s; RSS before %d MB, peak %d MB; load %s\n' \
  "$n" "$secs" "$(echo "$last - $first" | bc -l)" "$(echo "$n / $secs" | bc -l)" "$((RSS0 / 1024))" "$(( $(hwm) / 1024 ))" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "   RSS along the way: ${samples[*]}"
api "$B/api/v1/campaigns/$C/send" | jq -c '{state, queued, skipped, errors, mails}'
echo "   logs: $OUT"
