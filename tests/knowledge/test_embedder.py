"""The real model, loaded from packaged files."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

import numpy as np
import pytest

from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings


async def test_vectors_are_384_d_unit_length_and_in_input_order(embedder: FastembedEmbedder) -> None:
    texts = ["a long sentence about expeditions to the mountains " * 3, "short", "short", "medium length text"]
    vectors = await embedder.embed_documents(texts)
    assert len(vectors) == 4 and all(len(v) == 384 for v in vectors)
    assert np.allclose(np.linalg.norm(np.asarray(vectors), axis=1), 1.0, atol=1e-3)
    assert vectors[1] == vectors[2]
    alone = await embedder.embed_documents([texts[3]])
    assert np.allclose(alone[0], vectors[3], atol=1e-5), "batching and sorting must not change a vector"


async def test_similar_meanings_are_closer_than_different_ones(embedder: FastembedEmbedder) -> None:
    a, b, c = await embedder.embed_documents(
        [
            "The expedition to the Andes failed after a landslide buried the camp.",
            "A mountain field trip ended in disaster when rocks fell on the tents.",
            "The symposium voted to open the archive to the public.",
        ]
    )
    assert float(np.dot(a, b)) > float(np.dot(a, c)) + 0.2


async def test_texts_past_256_tokens_are_truncated_like_sentence_transformers(embedder: FastembedEmbedder) -> None:
    head = "The scholar Ibarra discovered a Bronze Age calendar carved in stone. " * 30  # ~400 tokens
    longer = head + "Completely unrelated trailing text about industrial contracts and grain prices. " * 20
    a, b = await embedder.embed_documents([head, longer])
    assert np.allclose(a, b, atol=1e-5), "tokens past 256 must not change the vector"


async def test_the_reuse_cache_is_bounded_and_gives_the_same_vectors(embedder: FastembedEmbedder) -> None:
    small = FastembedEmbedder(embedder._model, batch_size=8, cache_size=2)  # the same loaded model
    try:
        texts = ["one scholar", "two expeditions", "three symposia", "four theories", "one scholar"]
        first = await small.embed_documents(texts)
        assert len(small._cache) == 2
        again = await small.embed_documents(texts)
        assert np.allclose(first, again, atol=1e-6)
        assert np.allclose(first[0], first[4])
    finally:
        small.close()


async def test_model_batches_side_by_side_give_the_same_vectors_in_order(embedder: FastembedEmbedder) -> None:
    class Recording:  # the real model, noting which thread ran each call
        def __init__(self, model: Any, workers: int) -> None:
            self.model, self.threads, self.calls = model, set[str](), 0
            # With more than one worker the first two calls wait for each other: they can only both
            # get past it if they run at the same time (else the barrier times out and the test fails).
            self.meet = threading.Barrier(2, timeout=30) if workers > 1 else None
            self.lock = threading.Lock()

        def embed(self, texts: list[str], batch_size: int) -> Any:
            with self.lock:
                self.threads.add(threading.current_thread().name)
                self.calls += 1
                first_two = self.calls <= 2
            if self.meet is not None and first_two:
                self.meet.wait()
            return self.model.embed(texts, batch_size=batch_size)

    texts = [f"expedition {n} to the {place} found {n % 4} relics" for n, place in enumerate(["Andes", "Nile"] * 20)]
    results = {}
    for workers in (1, 3):
        model = Recording(embedder._model, workers)
        side_by_side = FastembedEmbedder(model, batch_size=4, cache_size=0, workers=workers)
        try:
            results[workers] = await side_by_side.embed_documents(texts)
        finally:
            side_by_side.close()
        assert model.calls == 10 and (len(model.threads) > 1) == (workers > 1) and len(model.threads) <= workers
    assert np.allclose(results[1], results[3], atol=1e-6)
    assert np.allclose(results[3][7], await embedder.embed_documents([texts[7]]), atol=1e-5)


async def test_concurrent_queries_share_model_calls_and_get_their_own_vectors(embedder: FastembedEmbedder) -> None:
    import asyncio

    queries = [f"which scholar found the {word} calendar?" for word in ("lunar", "solar", "stone", "bronze", "lost")]
    together = await asyncio.gather(*(embedder.embed_query(q) for q in queries))
    one_by_one = [await embedder.embed_query(q) for q in queries]
    # a query is embedded after the model's instruction for queries (a document is not)
    as_documents = await embedder.embed_documents([embedder.spec.query_prefix + q for q in queries])
    assert np.allclose(together, one_by_one, atol=1e-4)
    assert np.allclose(together, as_documents, atol=1e-4)
    assert not np.allclose(together[0], together[1], atol=1e-3)


async def test_a_query_cancelled_while_it_embeds_for_others_does_not_strand_them(embedder: FastembedEmbedder) -> None:
    import asyncio

    embedder, _ = bounded(embedder, query_batch=8, query_cache_size=0)  # batches that carry others' queries
    first = asyncio.create_task(embedder.embed_query("a lunar calendar"))
    await asyncio.sleep(0)  # `first` holds the turn; the next two queue behind it
    leader = asyncio.create_task(embedder.embed_query("a solar calendar"))
    follower = asyncio.create_task(embedder.embed_query("a stone calendar"))
    await first
    # `leader` takes the next turn and embeds both queued texts, its own and the follower's: cancel it then
    # (a client gone, a request timeout). The queue is internal; reading it is how the test finds the moment.
    for _ in range(1000):  # a few loop turns, well inside the ~10 ms the embedding takes
        if not embedder._query_waiting:
            break
        await asyncio.sleep(0)
    assert not embedder._query_waiting and not leader.done()
    leader.cancel()
    async with asyncio.timeout(30):
        got = await follower
    assert leader.cancelled()
    assert np.allclose(got, await embedder.embed_query("a stone calendar"), atol=1e-4)
    embedder.close()


class Recording:
    """The real query session, noting how many texts each model call gets (the model itself runs)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.calls: list[int] = []

    def embed(self, texts: list[str], batch_size: int) -> Any:
        self.calls.append(len(texts))
        return self.session.embed(texts, batch_size=batch_size)


def bounded(embedder: FastembedEmbedder, **limits: Any) -> tuple[FastembedEmbedder, Recording]:
    recording = Recording(embedder._query_model)
    return FastembedEmbedder(embedder._model, 8, query_model=recording, **limits), recording


def long(n: int) -> str:
    """A query as long as the model reads (256 tokens), distinct for each `n`."""
    return f"The expedition to the sunken archive of Y{n} returned with charts, rumours and a broken astrolabe. " * 12


async def test_queries_beyond_the_queue_are_refused_at_once_and_model_calls_stay_small(
    embedder: FastembedEmbedder,
) -> None:
    import asyncio

    from knowledge.errors import Overloaded

    small, recording = bounded(embedder, query_batch=4, query_queue=10, query_deadline_s=60, query_cache_size=0)
    try:
        texts = [long(n) for n in range(30)]
        results = await asyncio.gather(*(small.embed_query(t) for t in texts), return_exceptions=True)
        refused = [r for r in results if isinstance(r, Overloaded)]
        answered = [(t, r) for t, r in zip(texts, results, strict=True) if not isinstance(r, BaseException)]
        # the first is being embedded when the others arrive; 10 more wait; the rest are told at once
        assert len(answered) == 1 + 10 and len(refused) == 19
        assert "waiting" in str(refused[0])
        assert max(recording.calls) <= 4, recording.calls
        for text, vector in answered:  # each got its own vector, the same as embedded alone
            alone = await embedder.embed_documents([embedder.spec.query_prefix + text])
            assert np.allclose(vector, alone[0], atol=1e-4)
        assert not small._query_waiting
    finally:
        small.close()


async def test_a_query_that_cannot_be_embedded_in_time_is_refused_and_leaves_nothing_behind(
    embedder: FastembedEmbedder,
) -> None:
    import asyncio

    from knowledge.errors import Overloaded

    small, _ = bounded(embedder, query_batch=1, query_queue=100, query_deadline_s=0.05, query_cache_size=0)
    try:
        results = await asyncio.gather(*(small.embed_query(long(n)) for n in range(40)), return_exceptions=True)
        late = [r for r in results if isinstance(r, Overloaded)]
        assert late and all("within 0.05 s" in str(r) for r in late)
        assert all(isinstance(r, list | Overloaded) for r in results), results
        assert not small._query_waiting, "the refused ones left the queue"
        # and it answers again: within its 50 ms, once the thread is free (a long query refused by its
        # deadline may still be in the model; on a busy machine a low-priority thread can miss 50 ms
        # itself, so a few tries are allowed)
        await asyncio.get_running_loop().run_in_executor(small._query_executor, lambda: None)
        for _ in range(50):
            with contextlib.suppress(Overloaded):
                assert len(await small.embed_query("a short one, afterwards")) == 384
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("a short query was never embedded within 50 ms afterwards")
    finally:
        small.close()


async def test_a_query_whose_caller_left_while_it_waited_leaves_the_queue(embedder: FastembedEmbedder) -> None:
    import asyncio

    small, recording = bounded(embedder, query_cache_size=0)
    try:
        first = asyncio.create_task(small.embed_query(long(1)))
        await asyncio.sleep(0)  # `first` is being embedded
        gone = asyncio.create_task(small.embed_query(long(2)))
        await asyncio.sleep(0)  # `gone` waits its turn ...
        gone.cancel()  # ... and its client leaves
        await first
        with contextlib.suppress(asyncio.CancelledError):
            await gone
        assert not small._query_waiting and recording.calls == [1], "nobody embeds a query no one waits for"
    finally:
        small.close()


async def test_a_repeated_query_comes_from_the_bounded_cache(embedder: FastembedEmbedder) -> None:
    small, recording = bounded(embedder, query_cache_size=2)
    try:
        first = await small.embed_query("who found the lunar calendar?")
        assert await small.embed_query("who found the lunar calendar?") == first
        assert recording.calls == [1]
        for text in ("one", "two", "three"):
            await small.embed_query(text)
        assert len(small._query_cache) == 2
    finally:
        small.close()


def test_queries_are_embedded_at_a_lower_cpu_priority_than_ingest(embedder: FastembedEmbedder) -> None:
    """Where both want the cores, ingest goes first (EMBED_QUERY_NICE and EMBED_QUERY_IDLE, per thread on Linux)."""

    def nice_here() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def policy_here() -> int:
        return os.sched_getscheduler(threading.get_native_id())

    ingest = embedder._executor.submit(nice_here).result()
    query = embedder._query_executor.submit(nice_here).result()
    assert query == min(19, ingest + KnowledgeSettings().embed_query_nice) > ingest
    assert KnowledgeSettings().embed_query_idle
    assert embedder._query_executor.submit(policy_here).result() == os.SCHED_IDLE  # (EMBED_QUERY_IDLE)
    assert embedder._executor.submit(policy_here).result() == os.SCHED_OTHER


async def test_a_texts_vector_does_not_depend_on_what_it_was_embedded_with(embedder: FastembedEmbedder) -> None:
    """The model quantises its activations per run: a text run beside a longer one (padding included)
    would come out slightly different. One text per run makes every vector the text's own."""
    text = "Expedition TT-008 resolved: failure. The team came back without the charts."
    others = ["A much longer text about a symposium, " * 12, "Recruitment of Blackstone succeeded."]
    alone = FastembedEmbedder(embedder._model, batch_size=8, cache_size=0)
    together = FastembedEmbedder(embedder._model, batch_size=8, cache_size=0)
    try:
        (a,) = await alone.embed_documents([text])
        b = (await together.embed_documents([*others, text]))[2]
        assert np.allclose(a, b, atol=1e-6)
        (as_query,) = await alone.embed_documents([embedder.spec.query_prefix + text])
        assert np.allclose(as_query, await embedder.embed_query(text), atol=1e-6), "a query is embedded the same way"
    finally:
        alone.close()
        together.close()
