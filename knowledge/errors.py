"""Errors of the knowledge layer, by what the caller does next.

KnowledgeError
├── TransientError        retry with backoff (store timeout, store unreachable); never the DLQ
│   └── StoreUnavailable
├── StoreRejected         the store refuses these points for good (a 4xx, a value it cannot hold):
│                         the consumer splits the batch and dead-letters the points responsible
└── ConfigurationError    stop and tell the operator (wrong model for this collection, bad files)
    └── ModelMismatch
"""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base of this package's errors."""


class TransientError(KnowledgeError):
    """Worth retrying: the same call may succeed later."""

    retriable = True


class StoreUnavailable(TransientError):
    """The store did not answer in time, or answered with a server-side failure."""


class Overloaded(TransientError):
    """More work is waiting than can be done in time (the query embedder's queue is full, or a query
    waited past its deadline): the caller is told to come back (503 with Retry-After), nothing piles up."""


class StoreRejected(KnowledgeError):
    """The store refused a write for a reason that will not go away by retrying it."""

    retriable = False


class ConfigurationError(KnowledgeError):
    """Retrying will not help; the configuration or the data on disk must change."""

    retriable = False


class ForeignCollection(ConfigurationError):
    """The collection holds points this service did not write (e.g. mcp-server-qdrant's `{document,
    metadata}`), or cannot be made to match it: refused at start, never a failed read later."""


class ModelMismatch(ConfigurationError):
    """The collection holds vectors of another model (or dimension): they are refused, not mixed."""
