"""What the consumer and the API share: projection, embedder, store."""
