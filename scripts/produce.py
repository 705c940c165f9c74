"""Produce a sample season of game events to Kafka: `python -m scripts.produce --events 600`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiokafka import AIOKafkaProducer

from scripts.sample_season import key_of, season


async def produce(bootstrap: str, topic: str, events: int, seed: int) -> int:
    """Send `events` sample events; return how many were acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    async with asyncio.timeout(30):
        await producer.start()
    try:
        futures = [
            await producer.send(topic, json.dumps(event).encode(), key=key_of(event).encode())
            for event in season(events, seed)
        ]
        async with asyncio.timeout(60):
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--topic", default=os.environ.get("KAFKA_TOPICS", "greatwork.events").split(",")[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sent = asyncio.run(produce(args.bootstrap, args.topic, args.events, args.seed))
    print(f"produced {sent} events to {args.topic}")


if __name__ == "__main__":
    main()
