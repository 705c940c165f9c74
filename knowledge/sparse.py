"""BM25 sparse vectors, offline: Qdrant Edge's built-in BM25 (English tokenizer, stemmer and
stopwords, all shipped in the qdrant-edge-py wheel). The store applies IDF (`Modifier.IDF`), so the
vectors here carry only term frequencies. Exact names and codes ("Okafor", "FD-004", "CONF-1018")
match through these even where the dense model blurs them. The tokenizer splits "TT-027" into "tt" and
"027", which would let FD-027 answer for TT-027, so each code is also indexed (and queried) as one
joined word ("tt027").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import qdrant_edge as edge

from schemas.documents import DocumentBase

#: The named sparse vector in the collection.
SPARSE_NAME: Final = "bm25"
#: Our documents are about 60 tokens long (bench/), not BM25's default 256.
AVG_DOC_TOKENS: Final = 60.0
#: Expedition, conference and order codes: letters, a hyphen, digits ("FD-004", "CONF-1018").
_CODE: Final = re.compile(r"\b([A-Za-z]{2,6})-(\d{2,6})\b")


@dataclass(frozen=True)
class Sparse:
    """A sparse vector, independent of either client library."""

    indices: list[int]
    values: list[float]


class SparseEncoder:
    """Text -> BM25 sparse vector. Cheap (Rust): called inline."""

    def __init__(self) -> None:
        self._model = edge.Bm25(edge.Bm25Config(avg_len=AVG_DOC_TOKENS))

    def document(self, text: str) -> Sparse:
        vector = self._model.embed_document(with_joined_codes(text))
        return Sparse(list(vector.indices), list(vector.values))

    def query(self, text: str) -> Sparse:
        vector = self._model.embed_query(with_joined_codes(text))
        return Sparse(list(vector.indices), list(vector.values))


def with_joined_codes(text: str) -> str:
    """The text with each code it names appended as one word: "TT-027" adds "tt027"."""
    joined = " ".join(f"{letters}{digits}".lower() for letters, digits in _CODE.findall(text))
    return f"{text} {joined}" if joined else text


def each_term(vector: Sparse) -> list[Sparse]:
    """Each term of the vector as a vector of its own: a term's best BM25 score is the most it can add
    to any document's, so their sum bounds what a document can score for the whole query."""
    return [Sparse([i], [v]) for i, v in zip(vector.indices, vector.values, strict=True)]


def bm25_of(document: DocumentBase) -> Sparse:
    """What BM25 indexes for a document: the text the dense model embeds too (its title, then what
    happened; the timestamp left out)."""
    return encoder().document(document.embedding_text)


@functools.cache
def encoder() -> SparseEncoder:
    """The one encoder of the process, built on first use (its vocabulary hashing is stateless)."""
    return SparseEncoder()
