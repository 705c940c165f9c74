#!/usr/bin/env bash
# The test command: install what is needed, start the repo's Kafka broker, run lint, types and pytest.
#   scripts/test.sh [pytest args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
export KAFKA_PORT="${KAFKA_PORT:-19092}"
source scripts/kafka-env.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
