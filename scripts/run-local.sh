#!/usr/bin/env bash
# Run the whole thing locally on embedded defaults: a local Kafka broker, the API with the consumer
# in-process on embedded Qdrant (Qdrant Edge under ./data), and the bridge publishing a real game
# database: by default a copy of the dev season (../shared/dev-season/great_work.db, 10,108 rows),
# or a live game's with GREAT_WORK_DB=path (read-only: the bridge never writes to it).
# Ctrl-C stops the bridge and the API (after their batches are committed) and the broker.
#   GREAT_WORK_DB=path API_PORT=8000 KAFKA_PORT=9092 scripts/run-local.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"
export API_PORT="${API_PORT:-8000}"
scripts/kafka.sh start

if [ -z "${GREAT_WORK_DB:-}" ]; then
  season="$root/../shared/dev-season/great_work.db"
  [ -f "$season" ] || { echo "run-local: no dev season at $season; set GREAT_WORK_DB" >&2; exit 1; }
  mkdir -p data
  [ -f data/dev-season.db ] || cp "$season" data/dev-season.db  # a copy: the original stays clean
  chmod u+w data/dev-season.db
  export GREAT_WORK_DB="$root/data/dev-season.db"
fi
export BRIDGE_STATE_FILE="${BRIDGE_STATE_FILE:-data/bridge-state.json}"

.venv/bin/python -m service &
api=$!
bridge=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$bridge" ] && { kill -TERM "$bridge" 2>/dev/null && wait "$bridge" 2>/dev/null || true; }
  kill -TERM "$api" 2>/dev/null && wait "$api" 2>/dev/null || true
  scripts/kafka.sh stop
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null; then break; fi
  if ! kill -0 "$api" 2>/dev/null; then echo "run-local: the API exited; see its log above" >&2; exit 1; fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null || { echo "run-local: the API is not ready after 120 s" >&2; exit 1; }

.venv/bin/python -m bridge &
bridge=$!
cat <<MSG

The Great Work knowledge service is up on http://127.0.0.1:$API_PORT (OpenAPI docs at /docs); the
bridge is publishing $GREAT_WORK_DB (history first, then every new row), and the consumer indexes it
(about 100 rows/s on 2 cores: the dev season takes under two minutes). Try:
  curl -s http://127.0.0.1:$API_PORT/v1/search -H 'content-type: application/json' \\
    -d '{"query": "which expedition was a failure?", "top_k": 3}'
  .venv/bin/greatwork search "Dr Elara Blackstone"
Ctrl-C stops it.
MSG
wait "$api"
