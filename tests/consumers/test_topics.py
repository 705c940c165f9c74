"""The topics the service creates, on the real broker: what they keep and for how long."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from consumers.loop import ensure_topics
from consumers.settings import ConsumerSettings


async def test_events_and_dlq_are_kept_until_deleted_and_notices_for_a_day(kafka_bootstrap: str) -> None:
    name = f"topics.{uuid.uuid4().hex[:8]}"
    settings = ConsumerSettings(
        kafka_bootstrap_servers=kafka_bootstrap, kafka_topics=name, kafka_dlq_topic=name + ".dlq",
        kafka_indexed_topic=name + ".indexed", kafka_topic_partitions=2,
    )  # fmt: skip
    await ensure_topics(settings)
    await ensure_topics(settings)  # a second start (or a second instance) finds them and changes nothing
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        topics = [name, name + ".dlq", name + ".indexed"]
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
        retention = {}
        for response in described:
            for resource in response.resources:
                configs = {entry[0]: entry[1] for entry in resource[4]}
                retention[resource[3]] = configs["retention.ms"]
        assert retention == {name: "-1", name + ".dlq": "-1", name + ".indexed": "86400000"}
        partitions = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(topics)}
        assert partitions == dict.fromkeys(topics, 2)
    finally:
        await admin.close()
