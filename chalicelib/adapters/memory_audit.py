"""The audit log in memory: the replay command runs on it, and the unit tests' fake is this class.
It keeps the same two steps as DynamoDB (inbox, then chain). With `chain_on_record` (the default)
it chains each event as it is recorded, which is what the replay and most unit tests want."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from .. import request_context
from ..domain import audit
from ..domain.models import AuditEntry, AuditEvent

UsageSink = Callable[[str, int], None]


class MemoryAuditLog:
    def __init__(self, *, chain_on_record: bool = True, usage: UsageSink | None = None) -> None:
        self.chains: dict[str, list[AuditEntry]] = {}
        self.inbox: dict[str, list[AuditEvent]] = {}
        self.chain_on_record = chain_on_record
        self.usage = usage  # where chained usage deltas go (the agencies' used_bytes)

    def record(self, event: AuditEvent) -> None:
        waiting = self.inbox.setdefault(event.agency_id, [])
        if any(e.event_id == event.event_id for e in waiting):
            raise ValueError(f"event {event.event_id} is already recorded")
        waiting.append(event)
        if self.chain_on_record:
            while self.chain_waiting(event.agency_id):
                pass

    def append(self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
               outcome: str = "success", details: dict[str, Any] | None = None,
               source: str | None = None) -> AuditEvent:
        event = audit.new_event(agency_id, at=at, actor=actor, action=action, target=target, outcome=outcome,
                                details=details, source=source if source is not None else request_context.source())
        self.record(event)
        return event

    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        yield from (e for e in self.chains.get(agency_id, []) if e.seq > after_seq)

    def waiting(self, agency_id: str) -> int:
        return len(self.inbox.get(agency_id, []))

    def chain_waiting(self, agency_id: str) -> int:
        waiting = sorted(self.inbox.get(agency_id, []), key=lambda e: e.event_id)[:audit.CHAIN_BATCH]
        if not waiting:
            return 0
        chain = self.chains.setdefault(agency_id, [])
        chain.extend(audit.chain(waiting, (chain[-1].seq, chain[-1].hash) if chain else None))
        taken = {e.event_id for e in waiting}
        self.inbox[agency_id] = [e for e in self.inbox[agency_id] if e.event_id not in taken]
        usage = sum(e.usage_delta for e in waiting)
        if usage and self.usage:
            self.usage(agency_id, usage)
        return len(waiting)

    def actions(self, agency_id: str) -> list[str]:
        return [e.action for e in self.chains.get(agency_id, [])]
