"""Custody: the audit event each change writes with itself, the sequencer that chains waiting
events, and the agency's view of its chain (entries, how many still wait, whether it verifies)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .. import request_context
from ..domain import audit
from ..domain.models import AuditEntry, AuditEvent, AuditFilter, Principal
from . import access  # a module reference: access -> licensing -> custody would otherwise cycle
from .deps import Deps

if TYPE_CHECKING:  # ports are for the annotations only (Protocol classes are slow to create)
    from ..domain.ports import Clock

MAX_PAGE = 200
MAX_EXAMINED = 5_000  # entries read per request; a sparse filter continues on the next page
MAX_BATCHES = 400  # per agency and call: 10,000 events; a stream retry or the next call does the rest


class _Clocked(Protocol):
    @property
    def clock(self) -> Clock: ...


def event(agency_id: str, *, deps: _Clocked, actor: str, action: str, target: str, outcome: str = "success",
          details: dict[str, Any] | None = None, usage_delta: int = 0) -> AuditEvent:
    """The event for a change, stamped now and with where the current request came from. Pass it
    to the repository write that makes the change: both are committed together."""
    return audit.new_event(agency_id, at=deps.clock.now(), actor=actor, action=action, target=target,
                           outcome=outcome, details=details, source=request_context.source(),
                           usage_delta=usage_delta)


def sequence(agency_ids: Iterable[str], *, deps: Deps) -> dict[str, int]:
    """Chain what waits for each agency, batch by batch; returns how many each got chained."""
    chained: dict[str, int] = {}
    for agency_id in sorted(set(agency_ids)):
        total = 0
        for _ in range(MAX_BATCHES):
            done = deps.audit.chain_waiting(agency_id)
            if not done:
                break
            total += done
        chained[agency_id] = total
    return chained


class AuditEntryView(AuditEntry):
    model_config = ConfigDict(from_attributes=True)
    agency_id: str = Field(exclude=True)  # the caller's own: its log is the only one it reads


class AuditPage(BaseModel):
    """`GET /agency/audit`: chained entries, the seq to continue after (null: the end), and how many
    events still wait to be chained."""

    model_config = ConfigDict(defer_build=True)
    items: list[AuditEntryView]
    next_after: int | None
    waiting: int


def search(principal: Principal, wanted: AuditFilter, *, after_seq: int, limit: int,
           deps: Deps) -> tuple[list[AuditEntry], int | None, int]:
    """Chained entries matching the filter in sequence order, the seq to continue after (None: the
    end), and how many events still wait to be chained (they appear here once chained)."""
    access.allow(principal, access.Capability.READ, deps=deps)
    limit = max(1, min(limit, MAX_PAGE))
    waiting = deps.audit.waiting(principal.agency_id)
    found: list[AuditEntry] = []
    for examined, entry in enumerate(deps.audit.entries(principal.agency_id, after_seq), start=1):
        if wanted.matches(entry):
            found.append(entry)
        if len(found) == limit or examined == MAX_EXAMINED:
            return found, entry.seq, waiting
    return found, None, waiting


def verify(agency_id: str, *, deps: Deps) -> dict[str, Any]:
    """The verifier's report: problems in the chained log, its length, and events still waiting."""
    entries = list(deps.audit.entries(agency_id))
    problems = audit.verify_chain(entries)
    return {"agency_id": agency_id, "entries": len(entries), "waiting": deps.audit.waiting(agency_id),
            "intact": not problems, "problems": problems}
