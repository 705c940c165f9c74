#!/usr/bin/env bash
# The test command: install what is needed (Python packages, the Kafka jars, Debian's chromium), start the repo's Kafka broker, run lint, types and pytest.
#   scripts/test.sh [pytest args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
scripts/browser.sh  # Debian's chromium, for tests/page/
export KAFKA_PORT="${KAFKA_PORT:-19092}"
source scripts/kafka-env.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
