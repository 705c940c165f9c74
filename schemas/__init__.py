"""Pydantic models: the event envelope and payloads, knowledge documents, search, dead letters."""
