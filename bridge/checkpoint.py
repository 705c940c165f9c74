"""Where the bridge is: the last published row id of each table, in a small JSON file.

A file beside the service's data (not the topic itself) because an operator can read it, edit it to
replay from a point, and it survives the topic's retention; reading the position back from the topic
would mean scanning the last records of every partition, and keys spread rows over all of them. It is
written only after every record up to that id is acknowledged by the brokers (acks=all), atomically
(a temporary file, fsync, rename): a crash before the write re-publishes at most one page, and a
re-published row overwrites its own point (event ids derive from the row), so the effect is once.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from bridge.database import TABLES, Table


def load(path: Path) -> dict[Table, int]:
    """The last published id per table (0: nothing yet)."""
    if not path.is_file():
        return dict.fromkeys(TABLES, 0)
    data = json.loads(path.read_text())
    return {table: int(data.get(table, 0)) for table in TABLES}


def save(path: Path, position: dict[Table, int]) -> None:
    """Write the position atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    body: dict[str, object] = {str(table): last for table, last in position.items()}
    body["updated_at"] = datetime.now(UTC).isoformat()
    with temporary.open("w") as out:
        out.write(json.dumps(body, indent=2) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
