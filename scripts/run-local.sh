#!/usr/bin/env bash
# Run the whole thing locally on embedded defaults: a local Kafka broker, the API with the consumer
# in-process on embedded Qdrant (Qdrant Edge under ./data), and a sample season of game events.
# Ctrl-C stops the API (after its batch is committed) and the broker.
#   SAMPLE_EVENTS=600 API_PORT=8000 KAFKA_PORT=9092 scripts/run-local.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"
export API_PORT="${API_PORT:-8000}"
scripts/kafka.sh start

.venv/bin/python -m service &
api=$!
cleanup() {
  trap - EXIT INT TERM
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

.venv/bin/python -m scripts.produce --events "${SAMPLE_EVENTS:-600}"
cat <<MSG

The Great Work knowledge service is up on http://127.0.0.1:$API_PORT (OpenAPI docs at /docs).
Try:
  curl -s http://127.0.0.1:$API_PORT/v1/search -H 'content-type: application/json' \\
    -d '{"query": "which expedition found a Bronze Age calendar?", "top_k": 3}'
Ctrl-C stops it.
MSG
wait "$api"
