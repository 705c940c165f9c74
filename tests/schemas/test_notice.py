"""The indexed-event notice: the document and its vector come back exactly as they were sent."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.projector import project
from schemas.documents import DocumentBase, to_payload
from schemas.events import GameEvent
from schemas.notice import decode_notice, encode_notice
from scripts.sample_season import season

DOCUMENTS = [project(GameEvent.model_validate(e)) for e in season(200, seed=17)]
FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(st.sampled_from(DOCUMENTS), st.lists(FLOAT32, min_size=1, max_size=384))
def test_a_notice_round_trips_its_document_and_float32_vector_exactly(
    document: DocumentBase, vector: list[float]
) -> None:
    decoded, floats = decode_notice(encode_notice(document, vector))
    assert to_payload(decoded) == to_payload(document)
    assert floats == vector


def test_the_vector_is_packed_not_written_as_numbers() -> None:
    notice = json.loads(encode_notice(DOCUMENTS[0], [0.25] * 384))
    assert isinstance(notice["vector"], str) and len(base64.b64decode(notice["vector"])) == 384 * 4


def test_a_notice_with_its_vector_as_a_list_of_numbers_is_read_too() -> None:
    old = json.dumps({"document": to_payload(DOCUMENTS[1]), "vector": [0.5, 1, -2.0]}).encode()
    assert decode_notice(old)[1] == [0.5, 1.0, -2.0]


@pytest.mark.parametrize(
    "value",
    [
        b"{oops",
        json.dumps({"vector": [0.0]}).encode(),
        json.dumps({"document": to_payload(DOCUMENTS[0]), "vector": "AAAA"}).encode(),  # 3 bytes: no float32s
        json.dumps({"document": to_payload(DOCUMENTS[0]), "vector": "not base64!"}).encode(),
        json.dumps({"document": to_payload(DOCUMENTS[0]), "vector": {"x": 1}}).encode(),
        json.dumps({"document": to_payload(DOCUMENTS[0]), "vector": ["1"]}).encode(),
        json.dumps({"document": {"event_id": "x"}, "vector": [0.0]}).encode(),
    ],
)
def test_what_is_not_a_notice_raises_what_the_relay_catches(value: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_notice(value)
