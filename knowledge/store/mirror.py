"""Making a directory a byte-for-byte copy of another, writing only the blocks that differ.

The embedded store copies its shard before optimizing it (`knowledge/store/edge_optimizer.py`) in two
passes: a first while Edge goes on writing the shard (it copies nearly every byte, some of them torn by
the writes it runs beside), then one while no write can come (the store's writer thread waits on it),
which reads both trees and rewrites only what differs, so that the copy is exactly the shard as it is
then. Nothing here trusts a file's size or time: a file written through a memory map keeps its mtime
when a page already dirty is written again, and mtimes move in ticks of the kernel's clock.

    python -m knowledge.store.mirror SOURCE TARGET    (prints the bytes written, as JSON)

It runs in a process of its own: in the serving process each of its system calls would give up the GIL
and wait to get it back behind the event loop (docs/OPERATIONS.md, "A big embedded store").
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from io import FileIO
from pathlib import Path
from typing import Final

#: Bytes compared (and, when they differ, written) at a time. Edge's writes touch a few places in many
#: files (each segment index's tracker, a page of payloads, the WAL): after 70 events written into a
#: 100k-point shard, the second pass rewrote 48 MB in 1 MiB blocks (0.14 s), 3.7 MB in 64 KiB ones
#: (0.10 s), 0.6 MB in 4 KiB ones (0.34 s: a Python loop per block).
BLOCK: Final = 1 << 16


def mirror(source: Path, target: Path) -> int:
    """Make `target` hold exactly the directories and files of `source`, byte for byte; return the
    bytes written. A file that disappears from `source` while this runs is left out of `target`."""
    written = 0
    kept: set[Path] = set()
    for root, _dirs, files in os.walk(source):
        here = target / Path(root).relative_to(source)
        _make_directory(here)
        kept.add(here)
        for name in files:
            try:
                written += _mirror_file(Path(root) / name, here / name)
            except FileNotFoundError:  # gone from the source meanwhile: gone from the copy too
                continue
            kept.add(here / name)
    _remove_all_but(target, kept)
    return written


def _make_directory(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)


def _mirror_file(source: Path, target: Path) -> int:
    """Make `target` equal to `source`; the bytes written."""
    with open(source, "rb", buffering=0) as reading:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        if not target.exists():
            with open(target, "wb") as writing:
                shutil.copyfileobj(reading, writing, BLOCK)
                return writing.tell()
        return _rewrite_differences(reading, target)


def _rewrite_differences(reading: FileIO, target: Path) -> int:
    """Compare `target` block by block with the open source `reading`; write the blocks that differ,
    and cut what `target` has beyond the source's end."""
    ours, theirs = bytearray(BLOCK), bytearray(BLOCK)
    written = offset = 0
    with open(target, "r+b", buffering=0) as writing:
        while count := reading.readinto(ours):
            held = writing.readinto(theirs)
            if not _same(ours, count, theirs, held):
                writing.seek(offset)
                writing.write(memoryview(ours)[:count])
                written += count
            offset += count
        writing.truncate(offset)
    return written


def _same(ours: bytearray, count: int, theirs: bytearray, held: int) -> bool:
    """Whether the first `count` bytes of `ours` are the first `held` of `theirs` (whole blocks are
    compared in place: a slice of a block is a copy of it)."""
    if count != held:
        return False
    return ours == theirs if count == len(ours) else ours[:count] == theirs[:held]


def _remove_all_but(target: Path, kept: set[Path]) -> None:
    """Delete from `target` every file and directory that is not in `kept`."""
    for root, dirs, files in os.walk(target, topdown=False):
        for name in files:
            if Path(root) / name not in kept:
                (Path(root) / name).unlink()
        for name in dirs:
            path = Path(root) / name
            if path not in kept:
                if path.is_symlink():
                    path.unlink()
                else:
                    path.rmdir()


def main() -> None:
    try:
        print(json.dumps({"bytes_written": mirror(Path(sys.argv[1]), Path(sys.argv[2]))}))
    except OSError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
