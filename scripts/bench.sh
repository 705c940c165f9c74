#!/usr/bin/env bash
# Run the benchmarks (not tests): installs what is needed, starts a broker, prints tables, writes
# bench/results/<date>/. Extra arguments go to `python -m bench.run` (e.g. --ingest-events 20000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
export KAFKA_PORT="${KAFKA_PORT:-19192}"
source scripts/kafka-env.sh
.venv/bin/python -m bench.run "$@"
