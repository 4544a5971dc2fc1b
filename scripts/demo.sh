#!/usr/bin/env bash
# Installs what is needed, builds Herald, and runs it on the embedded demo:
# a producer database with people, devices, requests and a few lifecycle
# events; a receiving endpoint (heraldctl sink); a local SMTP server for the
# scheduled e-mail notices; heraldd delivering everything.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

PORT=${HERALD_DEMO_PORT:-18080}
SMTP_PORT=${HERALD_DEMO_SMTP_PORT:-18025}
DEMO=build/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
sed -e "s/127.0.0.1:18080/127.0.0.1:$PORT/" -e "s/^port = 18025$/port = $SMTP_PORT/" config/demo/herald.toml \
  >"$DEMO/herald.toml"
install -m 600 config/demo/pep.password "$DEMO/pep.password"
sqlite3 "$DEMO/producer.db" "PRAGMA journal_mode=WAL;" >/dev/null
sqlite3 "$DEMO/producer.db" <config/outbox.sql
sqlite3 "$DEMO/producer.db" <config/demo/producer.sql
sqlite3 "$DEMO/producer.db" <config/demo/events.sql

echo "== starting the receiving endpoint on 127.0.0.1:$PORT"
build/bin/heraldctl sink --listen "127.0.0.1:$PORT" >"$DEMO/received.jsonl" 2>"$DEMO/sink.log" &
SINK=$!
echo "== starting the SMTP server on 127.0.0.1:$SMTP_PORT"
/usr/bin/python3 -u -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" >"$DEMO/mail.txt" 2>"$DEMO/smtp.log" &
SMTP=$!
trap 'kill $SINK $SMTP 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "listening" "$DEMO/sink.log" 2>/dev/null && break
  sleep 0.1
done
for _ in $(seq 50); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1).close()" \
    2>/dev/null && break
  sleep 0.1
done

echo "== heraldctl validate"
build/bin/heraldctl -c "$DEMO/herald.toml" validate

echo "== heraldctl render: what 'DisableCard' sends for event 3"
build/bin/heraldctl -c "$DEMO/herald.toml" render --notification DisableCard --event-id 3

echo "== heraldd --drain: ingest the outbox, run the schedules, deliver everything due"
build/bin/heraldd --config "$DEMO/herald.toml" --drain

echo "== what the endpoint received"
cat "$DEMO/received.jsonl"

echo "== the e-mails the schedules sent (password expiring in 3 days; account idle for 90 days)"
cat "$DEMO/mail.txt"

echo "== heraldctl schedules"
build/bin/heraldctl -c "$DEMO/herald.toml" schedules

echo "== heraldctl status"
build/bin/heraldctl -c "$DEMO/herald.toml" status
echo "== heraldctl list"
build/bin/heraldctl -c "$DEMO/herald.toml" list
echo "== heraldctl show 1"
build/bin/heraldctl -c "$DEMO/herald.toml" show 1
echo
echo "The demo lives in $DEMO: emit more events with"
echo "  build/bin/heraldctl -c $DEMO/herald.toml emit --entity identity --action CREATE --name 'REST Person Added' --key PersonID=2"
