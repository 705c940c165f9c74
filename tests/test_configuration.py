"""Configuration is documented in one table, and the compose file only sets variables that exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.settings import BridgeSettings
from consumers.settings import ConsumerSettings
from knowledge.logs import LogSettings
from knowledge.settings import KnowledgeSettings
from knowledge.tracing import TracingSettings
from service.settings import McpSettings, SecuritySettings, ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (KnowledgeSettings, ConsumerSettings, ServiceSettings, SecuritySettings, McpSettings, BridgeSettings,
            LogSettings, TracingSettings)  # fmt: skip
VARIABLES = {name.upper() for cls in SETTINGS for name in cls.model_fields}


def test_every_variable_is_in_the_readme_table_and_nothing_else() -> None:
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M))
    assert table == VARIABLES


def test_compose_sets_only_real_variables() -> None:
    compose = (ROOT / "compose" / "docker-compose.yml").read_text()
    app_section = compose.split("services:")[0] + compose.split("  consumer:")[1]
    keys = set(re.findall(r"^\s+([A-Z][A-Z_]+):", app_section, re.M))
    assert keys and keys <= VARIABLES, keys - VARIABLES


def test_conflicting_qdrant_options_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        KnowledgeSettings(store_backend="qdrant", qdrant_url="http://q:6333", qdrant_local_path=Path("/tmp/q"))
    with pytest.raises(ValidationError, match="needs QDRANT_URL"):
        KnowledgeSettings(store_backend="qdrant")


def test_the_compose_file_is_valid_yaml_with_every_service_the_readme_names() -> None:
    """`docker compose` parses it as YAML first: a `: ` inside an unquoted value breaks every service."""
    import yaml

    compose = yaml.safe_load((ROOT / "compose" / "docker-compose.yml").read_text())
    assert {"kafka", "qdrant", "consumer", "bridge", "api"} <= set(compose["services"])


COMPOSE_DIR = ROOT / "compose"


def compose_file() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text())
    return loaded


def test_the_image_holds_every_part_its_commands_run_and_can_write_what_they_write() -> None:
    """What `docker compose up` needs from the image, checked against the code (no Docker engine here to
    build it: `docker compose config` and a real start are not covered on this machine)."""
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, re.M))
    for name, service in compose_file()["services"].items():
        if "build" not in service:
            continue
        module = service["command"][service["command"].index("-m") + 1]
        assert (ROOT / module / "__main__.py").is_file(), f"{name}: python -m {module} has no __main__"
        imported = {module} | {m for m in ("schemas", "knowledge", "consumers") if (ROOT / m).is_dir()}
        assert imported <= copied, f"{name}: the image lacks {imported - copied}"
    user = re.findall(r"^USER (\d+)", dockerfile, re.M)[-1]
    data_dir = re.search(r"^ENV DATA_DIR=(\S+)", dockerfile, re.M)
    assert data_dir, "DATA_DIR (the model directory is assembled under it at start) is set"
    made = re.search(rf"mkdir -p {re.escape(data_dir[1])} && chown {user}:{user} {re.escape(data_dir[1])}", dockerfile)
    assert made and dockerfile.index(made[0]) < dockerfile.rindex(f"USER {user}"), "DATA_DIR exists, owned by USER"
    assert re.search(r"^RUN pip install .*\.$", dockerfile, re.M | re.S), "the project's dependencies are installed"
    fetch = dockerfile.find("python scripts/fetch_model.py")
    assert "scripts" in copied and fetch > dockerfile.index("pip install --no-cache-dir ."), "the default model's jar"
    assert fetch < dockerfile.rindex(f"USER {user}"), "fetched at build time, not by the service"
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("websockets") for d in dependencies), "uvicorn serves WebSockets only with it"


def test_the_broker_advertises_an_address_each_of_its_clients_can_reach() -> None:
    kafka = compose_file()["services"]["kafka"]["environment"]
    advertised = dict(a.split("://") for a in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    published = {p.rsplit(":", 1)[-1] for p in compose_file()["services"]["kafka"]["ports"]}
    for port in published:  # a client on the host is told to reconnect to an address the host can reach
        host = next(h for h in advertised.values() if h.endswith(f":{port}")).removesuffix(f":{port}")
        assert host in {"${KAFKA_EXTERNAL_HOST:-localhost}", "localhost", "127.0.0.1"}, host
    for name, service in compose_file()["services"].items():  # the compose network's clients use kafka:9092
        env = service.get("environment", {})
        servers = env.get("KAFKA_BOOTSTRAP_SERVERS") if isinstance(env, dict) else None
        if servers:
            assert servers in advertised.values(), f"{name} bootstraps from {servers}, not an advertised listener"


def test_the_qdrant_server_is_in_the_clients_window_and_every_app_service_has_a_healthcheck() -> None:
    from importlib.metadata import version

    image = compose_file()["services"]["qdrant"]["image"]
    server = tuple(int(x) for x in image.split(":v")[1].split(".")[:2])
    client = tuple(int(x) for x in version("qdrant-client").split(".")[:2])
    assert server[0] == client[0] and abs(server[1] - client[1]) <= 1, (image, client)
    for name in ("consumer", "bridge", "api"):
        assert "healthcheck" in compose_file()["services"][name], name
    ports = {"consumer": ConsumerSettings.model_fields["metrics_port"].default,
             "bridge": BridgeSettings.model_fields["bridge_metrics_port"].default, "api": 8000}  # fmt: skip
    for name, port in ports.items():
        assert f"127.0.0.1:{port}/" in compose_file()["services"][name]["healthcheck"]["test"][-1], name


@pytest.mark.parametrize(
    ("program", "env", "named"),
    [(["-m", "service"], {"API_PORT": "eighty"}, "API_PORT='eighty'"),
     (["-m", "service"], {"EMBEDDING_MODEL": "BAAI/bge-base-en-v1.5"}, "EMBEDDING_MODEL='BAAI/bge-base-en-v1.5'"),
     (["-m", "service"], {"API_KEYS": '{"not": "a list"}'}, "API_KEYS"),
     (["-m", "consumers"], {"CONSUMER_MAX_BATCH": "0"}, "CONSUMER_MAX_BATCH='0'"),
     (["-m", "bridge"], {"BRIDGE_PAGE_ROWS": "many"}, "BRIDGE_PAGE_ROWS='many'"),
     (["-m", "consumers"], {"CONSUMER_MAX_BATCH": "9" * 100_000}, "CONSUMER_MAX_BATCH='999"),
     (["-m", "service.mcp"], {"EMBEDDING_MODEL": "nope"}, "EMBEDDING_MODEL='nope'"),
     (["-m", "cli", "reindex", "--to", "next"], {"EMBED_BATCH_SIZE": "-1"}, "EMBED_BATCH_SIZE='-1'")],
)  # fmt: skip
def test_every_entry_point_refuses_a_bad_setting_in_a_sentence(
    tmp_path: Path, program: list[str], env: dict[str, str], named: str
) -> None:
    """A bad environment variable stops the program before it reaches for anything (exit 2), naming the
    variable and its value (a secret's value never), in one sentence on stderr, not a traceback."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "QDRANT_", "STORE_"))}
    done = subprocess.run(
        [sys.executable, *program], env={**base, "DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
                                         **env},
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert named in done.stderr and "bad configuration" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(done.stderr) < 2_000, "a huge value is not repeated whole"
    if "API_KEYS" in env:
        assert env["API_KEYS"] not in done.stderr, "a secret's value is never repeated"
