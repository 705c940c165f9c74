"""Qdrant stores: one interface (`base.KnowledgeStore`), a server and an embedded implementation."""
