"""The Kafka consumer: game events in, knowledge documents out."""
