"""What a JSON value may hold to be stored, read back, searched and deleted: checked at every door.

The stores are stricter than JSON. Qdrant keeps payload integers as 64-bit numbers (a larger one
fails the write), has no NaN or infinity, and reads a payload back through a parser with a recursion
limit of 128 levels: a point nested deeper is written, but then every read that touches it fails
(search, timeline, delete). So every value that becomes a payload (an event from Kafka, a note's
metadata, a request body) is parsed strictly here and refused with the path of the first problem:

- valid JSON text (RFC 8259): no `NaN`/`Infinity` literals, no lone surrogate escapes (`"\\ud800"`);
- at most `MAX_DEPTH` levels of objects and arrays;
- integers within 64 bits (signed, or unsigned up to 2**64 - 1), floats finite.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final

import pydantic_core
from pydantic import AfterValidator

#: Nesting of objects and arrays, the outermost counted as 1. The stored document wraps an event's
#: payload two levels deeper; Qdrant's reader fails beyond 128.
MAX_DEPTH: Final = 32
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**64 - 1


class UnsafeJson(ValueError):
    """A value that must not be stored; `path` names where (`payload.a.0`), `reason` says why."""

    def __init__(self, path: str, reason: str, *, invalid_text: bool = False) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason
        #: True when the text is not JSON at all (as opposed to JSON that breaks a limit)
        self.invalid_text = invalid_text


def problem(value: Any, path: str = "", depth: int = 0) -> UnsafeJson | None:
    """The first limit `value` (already parsed) breaks, or None. Iterative: no recursion to overflow."""
    stack: list[tuple[Any, str, int]] = [(value, path, depth)]
    while stack:
        item, where, level = stack.pop()
        if isinstance(item, dict | list):
            if level + 1 > MAX_DEPTH:
                return UnsafeJson(where, f"nested deeper than {MAX_DEPTH} levels")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and _has_surrogate(key):
                    return UnsafeJson(where, "a key is not valid Unicode (lone surrogate)")
                stack.append((child, f"{where}.{key}" if where else str(key), level + 1))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                return UnsafeJson(where, "integer beyond 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                return UnsafeJson(where, "not a finite number")
        elif isinstance(item, str) and _has_surrogate(item):
            return UnsafeJson(where, "not valid Unicode (lone surrogate)")
    return None


def check(value: Any, path: str = "") -> Any:
    """`value` itself if it is safe to store; else raise UnsafeJson."""
    found = problem(value, path)
    if found is not None:
        raise found
    return value


def parse(data: str | bytes) -> Any:
    """Strictly parsed JSON that is safe to store; UnsafeJson (with `invalid_text`) otherwise."""
    try:
        # jiter: rejects NaN/Infinity (allow_inf_nan=False), lone surrogates, and more than 200 levels
        # without recursing in Python. Numbers too large for a float (1e400) parse as infinity,
        # which check() refuses.
        value = pydantic_core.from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit" in str(exc):  # valid or not, it is far deeper than the limit
            raise UnsafeJson("", f"nested deeper than {MAX_DEPTH} levels") from None
        raise UnsafeJson("", f"not valid JSON: {exc}", invalid_text=True) from None
    return check(value)


def valid_unicode(text: str) -> str:
    """A pydantic after-validator: `text` unless it holds a lone surrogate (which no store or client can encode)."""
    if _has_surrogate(text):
        raise ValueError("not valid Unicode (lone surrogate)")
    return text


#: A string a request may carry into a filter or a query.
Text = Annotated[str, AfterValidator(valid_unicode)]


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
