#!/usr/bin/env bash
# Mail ingestion rate (issue 11 §2): raw RFC 5322 messages per second through
# POST /api/v1/inbound/email, each a new message (unique Message-ID) from one of SENDERS people,
# so each opens a ticket (person lookup, ticket, first message, Message-ID, queued
# acknowledgement, audit: one transaction). Half the messages after the first round are replies
# to an earlier ticket by In-Reply-To, which thread instead.
#
# Usage: bench/mail.sh            (release build; SQLite in a temp dir)
#        DATABASE=postgres://postgres@127.0.0.1:5432/rapport_mail_bench bench/mail.sh
#        (the database is created and dropped by the script through psql)
# Env: DURATION=10 (seconds, bounded), CLIENTS=4 (keep-alive connections), SENDERS=200,
#      PORT=18791 (loopback only), RAPPORT_BIN (skip the build), OUT_DIR.
# Prints the URL first, the load average beside the figure, and how many answers were not 2xx.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10}"; CLIENTS="${CLIENTS:-4}"; SENDERS="${SENDERS:-200}"; PORT="${PORT:-18791}"
OUT="${OUT_DIR:-$(mktemp -d)}"
if [ -z "${RAPPORT_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -p rapport-cli)
  RAPPORT_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rapport"
fi
cd "$OUT"
DB="${DATABASE:-$OUT/mail.db}"
case "$DB" in
  postgres*)
    NAME="${DB##*/}"; ADMIN_URL="${DB%/*}/postgres"
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $NAME" -c "CREATE DATABASE $NAME"
    trap 'psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $NAME" || true' EXIT ;;
  *) rm -f "$DB"* ;;
esac
"$RAPPORT_BIN" --database "$DB" user create --admin --email bench@example.com --password 'bench password 1' > /dev/null
B="http://127.0.0.1:$PORT"
echo "== URL: POST $B/api/v1/inbound/email ($CLIENTS connections, ${DURATION}s)"
"$RAPPORT_BIN" --database "$DB" serve --addr "127.0.0.1:$PORT" > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; [ -n "${ADMIN_URL:-}" ] && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $NAME" || true' EXIT
for _ in $(seq 100); do curl -sf "$B/healthz" > /dev/null && break; sleep 0.2; done
TOKEN=$(curl -sf "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
HOOK=$(curl -sf "$B/api/v1/tokens" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"bench inbound","scopes":["inbound_mail"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
PORT="$PORT" HOOK="$HOOK" DURATION="$DURATION" CLIENTS="$CLIENTS" SENDERS="$SENDERS" python3 - <<'PY'
import http.client, json, os, threading, time
port, hook = int(os.environ["PORT"]), os.environ["HOOK"]
duration, clients, senders = float(os.environ["DURATION"]), int(os.environ["CLIENTS"]), int(os.environ["SENDERS"])
counts = {"ok": 0, "bad": 0}
lock = threading.Lock()
def client(c):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n, mine, end = 0, [], time.time() + duration
    while time.time() < end:
        n += 1
        sender = f"sender{(c * 7919 + n) % senders}@example.com"
        extra = ""
        if mine and n % 2 == 0:
            # A reply to one of this client's earlier mails, from its sender: threads.
            prev_id, sender = mine[n % len(mine)]
            extra = f"In-Reply-To: <{prev_id}>\r\n"
        mid = f"bench-{c}-{n}-{time.time_ns()}@example.com"
        raw = (f"From: Bench Sender <{sender}>\r\nTo: support@rapport.test\r\nSubject: Bench message {c}-{n}\r\n"
               f"Message-ID: <{mid}>\r\n{extra}Content-Type: text/plain\r\n\r\nHello, this is message {n}.\r\n")
        conn.request("POST", "/api/v1/inbound/email", body=raw.encode(),
                     headers={"Authorization": f"Bearer {hook}", "Content-Type": "message/rfc822"})
        r = conn.getresponse(); body = r.read()
        good = r.status in (200, 201)
        if good and not extra and len(mine) < 50:
            mine.append((mid, sender))
        with lock:
            counts["ok" if good else "bad"] += 1
threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
start = time.time()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.time() - start
load = open("/proc/loadavg").read().split()[:3]
print(f"mail ingestion: {counts['ok'] / elapsed:.0f} messages/s ({counts['ok']} in {elapsed:.1f}s, {counts['bad']} not 2xx), "
      f"{clients} connections, load average {' '.join(load)}")
PY
echo "== queue after the run:"
curl -sf "$B/api/v1/mail/queue" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"])'
