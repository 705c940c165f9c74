"""An indexed-event notice: what the consumer publishes for live subscriptions (consumers/notices.py)
and every API instance reads (service/relay.py). One JSON object per indexed document:

    {"document": <the stored payload>, "vector": "<base64 of the vector as little-endian float32>"}

The vector is packed because writing 384 floats as JSON text cost ~0.4 ms per notice, ~10 % of the
consumer's time per batch; packed it is ~0.05 ms, and the model's vectors are float32, so nothing is
lost. A vector written as a JSON list of numbers (notices of earlier versions) is read too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import numpy as np

from schemas.documents import DocumentBase, document_from_payload, to_payload

_FLOAT32 = np.dtype("<f4")


def encode_notice(document: DocumentBase, vector: Sequence[float]) -> bytes:
    """The notice of one indexed document and its vector."""
    packed = base64.b64encode(np.asarray(vector, dtype=_FLOAT32).tobytes()).decode("ascii")
    return json.dumps({"document": to_payload(document), "vector": packed}).encode()


def decode_notice(value: bytes) -> tuple[DocumentBase, list[float]]:
    """The document and vector of a notice; ValueError, KeyError or TypeError if it is not one."""
    notice = json.loads(value)
    vector = notice["vector"]
    if isinstance(vector, str):
        floats: list[float] = np.frombuffer(base64.b64decode(vector, validate=True), dtype=_FLOAT32).tolist()
    elif isinstance(vector, list) and all(isinstance(x, int | float) for x in vector):
        floats = [float(x) for x in vector]
    else:
        raise TypeError(f"vector: expected base64 float32 or a list of numbers, got {type(vector).__name__}")
    return document_from_payload(notice["document"]), floats
