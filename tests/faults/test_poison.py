"""No record can stop the consumer: a poison corpus through the real consumer on the real broker,
the real model and the real store. Each poison record is followed by a good one that must become
searchable; each poison record gets its exact DLQ reason; every offset is committed."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from consumers.loop import ingest_loop
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import point_id
from knowledge.settings import KnowledgeSettings
from schemas import limits
from schemas.dead_letter import HEADER_DETAIL, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_VALUE
from tests.conftest import read_all
from tests.consumers.test_ingest import committed_offsets
from tests.faults.test_faults import edge_store, figures
from tests.process import fresh_topics

AT = "2025-03-01T10:00:00Z"
#: Small limits, so that "too large" records are cheap: the consumer refuses values over 64 KiB, its
#: producer sends at most 128 KiB, and the DLQ topic itself holds at most 100 kB per record.
MAX_MESSAGE_BYTES = 65_536
DLQ_MAX_BYTES = 100_000


def event(event_id: str, payload: Any = None, **extra: Any) -> bytes:
    body = {"event_id": event_id, "action": "comet_sighted", "occurred_at": AT, "payload": payload or {}, **extra}
    return json.dumps(body).encode()


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# name, key, value, headers, expected DLQ reason (None: stored)
Case = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes | None]], str | None]
ENVELOPE = b'{"event_id": "x-%s", "action": "comet_sighted", "occurred_at": "2025-03-01T10:00:00Z", "payload": %s}'
CASES: list[Case] = [
    ("null key and null value", None, None, [], "empty"),
    ("null key", None, event("nk-1"), [], None),
    ("empty value", b"k", b"", [], "empty"),
    ("invalid utf-8", b"k", b'{"event_id": "\xc3\x28"}', [], "invalid_utf8"),
    ("lone surrogate", b"k", ENVELOPE % (b"ls", b'{"who": "\\ud800"}'), [], "invalid_json"),
    ("lone low surrogate key", b"k", ENVELOPE % (b"ls2", b'{"\\udc00": 1}'), [], "invalid_json"),
    ("not an object", b"k", b"[1, 2, 3]", [], "schema_violation"),
    ("a string", b"k", b'"hello"', [], "schema_violation"),
    ("integer beyond 64 bits", b"k", ENVELOPE % (b"big", b'{"n": ' + b"9" * 400 + b"}"), [], "schema_violation"),
    ("2**64", b"k", ENVELOPE % (b"u64", b'{"n": 18446744073709551616}'), [], "schema_violation"),
    ("2**64 - 1", b"k", ENVELOPE % (b"u64ok", b'{"n": 18446744073709551615}'), [], None),
    ("-2**63", b"k", ENVELOPE % (b"i64ok", b'{"n": -9223372036854775808}'), [], None),
    ("NaN literal", b"k", ENVELOPE % (b"nan", b'{"n": NaN}'), [], "invalid_json"),
    ("Infinity literal", b"k", ENVELOPE % (b"inf", b'{"n": -Infinity}'), [], "invalid_json"),
    ("a float beyond float64", b"k", ENVELOPE % (b"f", b'{"n": 1e400}'), [], "schema_violation"),
    ("nesting at the limit", b"k", ENVELOPE % (b"d31", deep(limits.MAX_DEPTH - 1).encode()), [], None),
    ("nesting one beyond", b"k", ENVELOPE % (b"d32", deep(limits.MAX_DEPTH).encode()), [], "schema_violation"),
    ("nesting 150 deep", b"k", ENVELOPE % (b"d150", deep(150).encode()), [], "schema_violation"),
    ("nesting 5000 deep", b"k", ENVELOPE % (b"d5000", deep(5000).encode()), [], "schema_violation"),
    ("over MAX_MESSAGE_BYTES", b"k", event("big-1", {"b": "x" * 80_000}), [], "too_large"),
    ("over the DLQ's own limit", b"k", event("big-2", {"b": "x" * 300_000}), [], "too_large"),
    ("10 MB", b"k", event("big-3", {"b": "x" * 10_000_000}), [], "too_large"),
    ("unknown action", b"k", event("unknown-1", {"brightness": 3}), [], None),
    (
        "parties that do not fit",
        b"k",
        event("parties-1", parties={"scholar": ["s.1"], "rival": "p" * 5000, "x": "y"}),
        [],
        None,
    ),
    ("parties not an object", b"k", event("parties-2", parties=[{"scholar": "s.1"}]), [], None),
    ("odd headers", b"k", event("hdr-1"), [("", b""), ("x", None), ("\u00e9t\u00e9", b"\xff\x00"), ("x", b"2")], None),
    ("many headers", b"k", event("hdr-2"), [(f"h{i}", b"v" * 100) for i in range(200)], None),
]


NULL_RECORD = """
import asyncio, sys
from aiokafka import AIOKafkaProducer

async def main() -> None:
    producer = AIOKafkaProducer(bootstrap_servers=sys.argv[1], acks="all")
    await producer.start()
    try:
        print((await (await producer.send(sys.argv[2], value=None, key=None, partition=0))).offset)
    finally:
        await producer.stop()

asyncio.run(main())
"""


async def produce_null_record(bootstrap: str, topic: str) -> int:
    """A record with a null key and a null value, as the Java client or librdkafka may write it.
    aiokafka asserts against it, so it is sent by aiokafka with assertions off (`python -O`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-O", "-c", NULL_RECORD, bootstrap, topic, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    return int(out.decode().split()[-1])


async def test_every_poison_record_is_dead_lettered_with_its_reason_and_the_partition_moves_on(
    kafka_bootstrap: str, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    base = await fresh_topics(kafka_bootstrap, dlq_config={"max.message.bytes": str(DLQ_MAX_BYTES)})
    settings = base.model_copy(update={"max_message_bytes": MAX_MESSAGE_BYTES, "consumer_max_batch": 16})
    topic = settings.topics[0]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=12 * 1024 * 1024)
    await producer.start()
    sent: list[tuple[str, int, str | None]] = []  # (case, offset, expected reason)
    good: list[str] = []
    try:
        for i, (name, key, value, headers, reason) in enumerate(CASES):
            # one partition, so that each poison record is followed by its good one
            if key is None and value is None:
                offset = await produce_null_record(kafka_bootstrap, topic)
            else:
                offset = (await (await producer.send(topic, value=value, key=key, headers=headers, partition=0))).offset
            sent.append((name, offset, reason))
            good_id = f"good-{i}"
            await (await producer.send(topic, value=event(good_id), key=b"g", partition=0))
            good.append(good_id)
        # the same event again, older: stored once, the newer content kept
        await (await producer.send(topic, value=event("dup-1", {"v": "new"}), key=b"d", partition=0))
        await (await producer.send(topic, value=event("dup-1", {"v": "old"}, occurred_at="2025-01-01T00:00:00Z"),
                                   key=b"d", partition=0))  # fmt: skip
    finally:
        await producer.stop()
    expected_letters = [(offset, reason) for _, offset, reason in sent if reason is not None]
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        await loop.run_until_idle()
        stored = await store.count()
        kept = {p["event_id"] for p in await store.retrieve([point_id(i) for i in good])}
        dup = await store.retrieve([point_id("dup-1")])
    letters = await read_all(kafka_bootstrap, settings.kafka_dlq_topic, len(expected_letters), timeout_s=60)
    by_offset = {int(dict(r.headers)[HEADER_SOURCE_OFFSET]): r for r in letters}
    reasons = [reason for _, reason in expected_letters]
    figures("poison_corpus", cases=len(CASES), stored=stored, dead_letters=len(letters),
            by_reason={r: reasons.count(r) for r in sorted(set(reasons))})  # fmt: skip
    assert len(letters) == len(expected_letters), "each poison record is dead-lettered exactly once"
    for name, offset, reason in sent:
        if reason is None:
            assert offset not in by_offset, name
            continue
        headers = dict(by_offset[offset].headers)
        assert headers[HEADER_REASON].decode() == reason, (name, headers[HEADER_DETAIL])
    stored_ok = 1 + len(good) + sum(1 for *_, reason in CASES if reason is None)  # + dup-1
    assert stored == stored_ok
    assert kept == set(good), "every good record after a poison one is stored"
    assert dup[0]["payload"] == {"v": "new"}
    assert sum((await committed_offsets(settings)).values()) == 2 * len(CASES) + 2, "every offset committed"
    null_letter = by_offset[sent[0][1]]
    assert null_letter.key is None and dict(null_letter.headers)[HEADER_VALUE] == b"null"
    for name in ("over the DLQ's own limit", "10 MB"):
        letter = by_offset[next(offset for n, offset, _ in sent if n == name)]
        assert letter.value == b"" and dict(letter.headers)[HEADER_VALUE].startswith(b"omitted: "), name
    small = by_offset[next(offset for n, offset, _ in sent if n == "over MAX_MESSAGE_BYTES")]
    original = next(value for n, _, value, _, _ in CASES if n == "over MAX_MESSAGE_BYTES")
    assert small.value == original, "a letter the DLQ can hold keeps the original bytes"


async def test_a_batch_the_store_refuses_is_split_and_only_the_refused_records_are_dead_lettered(
    kafka_bootstrap: str,
    embedder: FastembedEmbedder,
    knowledge_settings: KnowledgeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real embedded store refuses an integer beyond 64 bits. The door (schemas/limits.py) refuses
    them first, so to see what the store does with a record that passed an older, laxer door, this
    test turns the door's check off (the only thing faked here)."""
    monkeypatch.setattr(limits, "check", lambda value, path="": value)
    settings = (await fresh_topics(kafka_bootstrap)).model_copy(update={"consumer_max_batch": 64})
    values = [event(f"r-{i}", {"n": 10**400} if i in (3, 17, 40) else {"i": i}) for i in range(50)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await (await producer.send(settings.topics[0], value=value, key=b"r", partition=0))
    finally:
        await producer.stop()
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        await loop.run_until_idle()
        stored = await store.count()
    letters = await read_all(kafka_bootstrap, settings.kafka_dlq_topic, 3, timeout_s=30)
    assert sorted(int(dict(r.headers)[HEADER_SOURCE_OFFSET]) for r in letters) == [3, 17, 40]
    assert {dict(r.headers)[HEADER_REASON] for r in letters} == {b"store_rejected"}
    assert all(b"too big" in dict(r.headers)[HEADER_DETAIL] or b"Int" in dict(r.headers)[HEADER_DETAIL]
               for r in letters)  # fmt: skip
    assert stored == 47
    assert sum((await committed_offsets(settings)).values()) == 50
