"""A directory made a byte-for-byte copy of another by rewriting what differs
(knowledge/store/mirror.py): whatever the copy held before, it ends equal to the source, and only the
blocks that differ are written."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.store import mirror as mirroring
from knowledge.store.mirror import BLOCK, mirror


def tree(root: Path) -> dict[str, bytes | None]:
    """Every directory (None) and file (its bytes) under `root`, by relative path."""
    found: dict[str, bytes | None] = {}
    for here, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(here, name), root)] = None
        for name in files:
            found[os.path.relpath(os.path.join(here, name), root)] = Path(here, name).read_bytes()
    return found


def make(root: Path, wanted: dict[str, bytes | None]) -> None:
    for name, content in sorted(wanted.items()):
        path = root / name
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


def test_only_the_blocks_that_differ_are_written_and_the_copy_ends_equal(tmp_path: Path) -> None:
    source, target = tmp_path / "shard", tmp_path / "copy"
    pages = bytes(range(256)) * (3 * BLOCK // 256)  # three whole blocks
    make(source, {"segments/s1/pages.dat": pages, "segments/s1/ids.dat": b"abc", "wal/open-1": b"x" * 10})
    assert mirror(source, target) == len(pages) + 3 + 10
    assert tree(target) == tree(source)
    assert mirror(source, target) == 0, "nothing differs: nothing is written"

    changed = bytearray(pages)
    changed[BLOCK + 5] ^= 0xFF  # one byte of the middle block
    (source / "segments/s1/pages.dat").write_bytes(bytes(changed) + b"tail")  # and it grew
    (source / "wal/open-1").unlink()
    make(source, {"wal/open-2": b"y", "segments/s2": None})
    assert mirror(source, target) == BLOCK + 4 + 1, "the middle block, the grown tail, the new file"
    assert tree(target) == tree(source)

    (source / "segments/s1/pages.dat").write_bytes(pages[:100])  # shrunk
    assert mirror(source, target) == 100
    assert tree(target) == tree(source)


def test_a_file_and_a_directory_that_swapped_places_are_swapped_in_the_copy(tmp_path: Path) -> None:
    source, target = tmp_path / "shard", tmp_path / "copy"
    make(source, {"a": b"file", "b/inner": b"in a directory"})
    mirror(source, target)
    (source / "a").unlink()
    (source / "b/inner").unlink()
    (source / "b").rmdir()
    make(source, {"a/inner": b"now a directory", "b": b"now a file"})
    mirror(source, target)
    assert tree(target) == tree(source)


names = st.sampled_from(["a", "b", "seg", "seg/c", "seg/d", "seg/deep/e", "wal/f"])
contents = st.one_of(st.none(), st.binary(max_size=40))
trees = st.dictionaries(names, contents, max_size=6)


def valid(wanted: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """`wanted` without the files that other entries need as a directory."""
    parents = {str(Path(name).parent) for name in wanted} | {str(p) for name in wanted for p in Path(name).parents}
    return {name: content for name, content in wanted.items() if content is None or name not in parents}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=trees, after=trees)
def test_whatever_the_copy_held_it_ends_equal_to_the_source(
    before: dict[str, bytes | None], after: dict[str, bytes | None]
) -> None:
    with tempfile.TemporaryDirectory() as scratch, mock.patch.object(mirroring, "BLOCK", 8):  # many blocks
        source, target = Path(scratch, "source"), Path(scratch, "target")
        make(target, valid(before))
        source.mkdir()
        make(source, valid(after))
        mirror(source, target)
        assert tree(target) == tree(source)


def test_run_as_a_process_it_says_what_it_wrote_or_why_it_failed(tmp_path: Path) -> None:
    source = tmp_path / "shard"
    make(source, {"edge_config.json": b"{}"})
    command = [sys.executable, "-m", "knowledge.store.mirror"]
    done = subprocess.run([*command, str(source), str(tmp_path / "copy")], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == '{"bytes_written": 2}'
    (tmp_path / "a-file").write_text("not a directory")
    failed = subprocess.run([*command, str(source), str(tmp_path / "a-file" / "copy")], capture_output=True, text=True)
    assert failed.returncode == 1 and "Not a directory" in failed.stderr
