"""The audit log in memory: the replay command runs on it, and the unit tests' fake is this class."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .. import request_context
from ..domain import audit
from ..domain.models import AuditEntry


class MemoryAuditLog:
    def __init__(self) -> None:
        self.chains: dict[str, list[AuditEntry]] = {}

    def append(self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
               outcome: str = "success", details: dict[str, Any] | None = None,
               source: str | None = None) -> AuditEntry:
        chain = self.chains.setdefault(agency_id, [])
        prev = (chain[-1].seq, chain[-1].hash) if chain else None
        entry = audit.next_entry(agency_id=agency_id, prev=prev, at=at, actor=actor, action=action,
                                 target=target, outcome=outcome, details=details,
                                     source=source if source is not None else request_context.source())
        chain.append(entry)
        return entry

    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        yield from (e for e in self.chains.get(agency_id, []) if e.seq > after_seq)

    def actions(self, agency_id: str) -> list[str]:
        return [e.action for e in self.chains.get(agency_id, [])]
