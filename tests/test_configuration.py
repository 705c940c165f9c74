"""Configuration is documented in one table, and the compose file only sets variables that exist."""

from __future__ import annotations

import re
from pathlib import Path

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
