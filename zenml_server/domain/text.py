"""Rules for text that crosses into storage."""

from __future__ import annotations


def storable(text: str) -> bool:
    """Whether both engines can hold ``text`` (PostgreSQL refuses NUL and lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
