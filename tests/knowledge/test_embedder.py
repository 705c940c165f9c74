"""The real model, loaded from packaged files."""

from __future__ import annotations

import numpy as np

from knowledge.embedder import FastembedEmbedder


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


async def test_concurrent_queries_share_model_calls_and_get_their_own_vectors(embedder: FastembedEmbedder) -> None:
    import asyncio

    queries = [f"which scholar found the {word} calendar?" for word in ("lunar", "solar", "stone", "bronze", "lost")]
    together = await asyncio.gather(*(embedder.embed_query(q) for q in queries))
    one_by_one = [await embedder.embed_query(q) for q in queries]
    as_documents = await embedder.embed_documents(queries)
    assert np.allclose(together, one_by_one, atol=1e-4)
    assert np.allclose(together, as_documents, atol=1e-4)
    assert not np.allclose(together[0], together[1], atol=1e-3)


async def test_a_query_cancelled_while_it_embeds_for_others_does_not_strand_them(embedder: FastembedEmbedder) -> None:
    import asyncio

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
