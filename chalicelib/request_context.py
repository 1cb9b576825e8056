"""Where the current work came from (client address and agent, a schedule, an event), so every
audit entry can record its source without threading it through each use case."""
from __future__ import annotations

from contextvars import ContextVar

_source: ContextVar[str] = ContextVar("source", default="system")


def set_source(value: str) -> None:
    _source.set(value[:300])


def source() -> str:
    return _source.get()
