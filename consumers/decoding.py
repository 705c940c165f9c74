"""Kafka record bytes -> GameEvent, or BadEvent naming the reason. Pure."""

from __future__ import annotations

from pydantic import ValidationError

from consumers.errors import BadEvent
from schemas import limits
from schemas.dead_letter import DeadLetterReason
from schemas.events import GameEvent


def describe_validation_error(exc: ValidationError) -> str:
    """Each failing field and why, on one line: `occurred_at: Input should have timezone info`."""
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"]) or "value"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


def decode_event(value: bytes | None, max_bytes: int) -> GameEvent:
    """Parse and validate one record value; raise BadEvent for anything that cannot become a document:
    not JSON (RFC 8259: no NaN, no lone surrogates), beyond what can be stored (schemas/limits.py),
    or not a valid envelope and payload."""
    if not value:
        raise BadEvent(DeadLetterReason.EMPTY, "the record has no value")
    if len(value) > max_bytes:
        raise BadEvent(DeadLetterReason.TOO_LARGE, f"the value is {len(value)} bytes; the limit is {max_bytes}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEvent(DeadLetterReason.INVALID_UTF8, f"byte {exc.start} is not UTF-8: {exc.reason}") from None
    try:
        parsed = limits.parse(value)
    except limits.UnsafeJson as exc:
        reason = DeadLetterReason.INVALID_JSON if exc.invalid_text else DeadLetterReason.SCHEMA_VIOLATION
        raise BadEvent(reason, str(exc)) from None
    try:
        return GameEvent.model_validate(parsed)
    except ValidationError as exc:
        raise BadEvent(DeadLetterReason.SCHEMA_VIOLATION, describe_validation_error(exc)) from None
