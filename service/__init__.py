"""The HTTP API: semantic search over the event history."""
