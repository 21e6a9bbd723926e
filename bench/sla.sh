#!/usr/bin/env bash
# SLA evaluation of many open tickets (issue 11 §6): `rapport sla run` over TICKETS open tickets
# (default 100,000) with status histories and conversations, on SQLite and, when PG_URL is set,
# on PostgreSQL.
#
# Usage: bench/sla.sh            (release build; PG_URL=postgres://postgres@127.0.0.1:5432/postgres
#                                 adds PostgreSQL)
#
# The data is written with SQL (the bench measures the job, not the loading): tickets opened
# over the last 30 days, each with its creation and one or two status changes (a third waiting
# on the customer, which pauses the clocks), a public agent reply on half of them and a
# customer message after it on a quarter; a default office-hours calendar in Europe/Berlin with
# a holiday and two lunch-split periods, and two policies (urgent, and everything else). The
# first run flags what is due (writes events and notifications); the second finds everything
# flagged already, so its time is the evaluation alone. Env: TICKETS RAPPORT_BIN OUT_DIR PG_URL.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TICKETS="${TICKETS:-100000}"
OUT="${OUT_DIR:-$(mktemp -d)}"
if [ -z "${RAPPORT_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -p rapport-cli)
  RAPPORT_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rapport"
fi

# The rows, in SQL both engines run; $1 is a series of n = 1..TICKETS, $2 an expression for
# "n minutes ago" as RFC 3339 text.
load_sql() {
  local series="$1" ago="$2"
  cat <<SQL
INSERT INTO calendars (name, is_default, time_zone, week, holidays, created_at, updated_at)
VALUES ('Berlin office', 1, 'Europe/Berlin',
  '{"monday":["08:00-12:00","13:00-17:00"],"tuesday":["08:00-12:00","13:00-17:00"],"wednesday":["08:00-12:00","13:00-17:00"],"thursday":["08:00-12:00","13:00-17:00"],"friday":["08:00-12:00","13:00-16:00"]}',
  '["2026-12-25","2026-12-26","2027-01-01"]', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
INSERT INTO sla_policies (name, position, priority, first_response_minutes, next_response_minutes, resolution_minutes, near_breach_percent, created_at, updated_at)
VALUES ('Urgent', 0, 'urgent', 60, 60, 480, 80, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
INSERT INTO sla_policies (name, position, first_response_minutes, next_response_minutes, resolution_minutes, near_breach_percent, created_at, updated_at)
VALUES ('Standard', 1, 480, 480, 4800, 80, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
INSERT INTO tickets (id, subject, sort_name, status, priority, channel, owner_id, created_at, updated_at)
SELECT n, 'Ticket ' || n, 'ticket ' || n,
  CASE n % 3 WHEN 0 THEN 'waiting_on_customer' WHEN 1 THEN 'in_progress' ELSE 'new' END,
  CASE WHEN n % 10 = 0 THEN 'urgent' ELSE 'normal' END, 'email',
  CASE WHEN n % 3 = 2 THEN NULL ELSE 1 END, $(printf "$ago" "(n * 43 % 43200 + 200)"), $(printf "$ago" "(n * 43 % 43200 + 200)")
FROM $series;
INSERT INTO ticket_status_changes (ticket_id, from_status, to_status, at)
SELECT n, NULL, 'new', $(printf "$ago" "(n * 43 % 43200 + 200)") FROM $series;
INSERT INTO ticket_status_changes (ticket_id, from_status, to_status, at)
SELECT n, 'new', 'in_progress', $(printf "$ago" "(n * 43 % 43200 + 170)") FROM $series WHERE n % 3 <> 2;
INSERT INTO ticket_status_changes (ticket_id, from_status, to_status, at)
SELECT n, 'in_progress', 'waiting_on_customer', $(printf "$ago" "(n * 43 % 43200 + 110)") FROM $series WHERE n % 3 = 0;
INSERT INTO ticket_messages (ticket_id, author, author_id, internal, body, at)
SELECT n, 'agent', 1, 0, 'On it', $(printf "$ago" "(n * 43 % 43200 + 140)") FROM $series WHERE n % 2 = 0;
INSERT INTO ticket_messages (ticket_id, author, internal, body, at)
SELECT n, 'customer', 0, 'Still broken', $(printf "$ago" "(n * 43 % 43200 + 80)") FROM $series WHERE n % 4 = 0;
SQL
}

run_twice() { # label database
  for round in first second; do
    echo "$1, $round run: $("$RAPPORT_BIN" --database "$2" sla run)   [$(uptime | sed 's/.*load average/load average/')]"
  done
}

cd "$OUT"
DB="$OUT/sla.db"
rm -f "$DB"*
"$RAPPORT_BIN" --database "$DB" user create --admin --email admin@example.com --password 'bench-password-1' > /dev/null
SQLITE_AGO="strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', 'now', '-' || %s || ' minutes')"
{ echo "BEGIN;"; load_sql "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $TICKETS) SELECT n FROM s) s" "$SQLITE_AGO"; echo "COMMIT; ANALYZE;"; } | sqlite3 "$DB"
echo "SQLite: $TICKETS open tickets loaded into $DB"
run_twice "SQLite" "$DB"
rm -f "$DB"*

if [ -n "${PG_URL:-}" ]; then
  NAME="rapport_bench_sla_$$"
  psql -q "$PG_URL" -c "CREATE DATABASE $NAME"
  PG_DB="${PG_URL%/*}/$NAME"
  trap 'psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)"' EXIT
  "$RAPPORT_BIN" --database "$PG_DB" user create --admin --email admin@example.com --password 'bench-password-1' > /dev/null
  PG_AGO="to_char((now() AT TIME ZONE 'UTC') - %s * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS\".000000Z\"')"
  { echo "BEGIN;"; load_sql "generate_series(1, $TICKETS) AS s(n)" "$PG_AGO"; echo "SELECT setval(pg_get_serial_sequence('tickets', 'id'), $TICKETS); COMMIT; ANALYZE;"; } | psql -q "$PG_DB"
  echo "PostgreSQL: $TICKETS open tickets loaded into $NAME"
  run_twice "PostgreSQL" "$PG_DB"
fi
