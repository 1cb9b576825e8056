"""Chain of custody: the agency's audit log, searchable, and its integrity check."""
from __future__ import annotations

from ..domain.audit import verify_chain
from ..domain.models import AuditEntry, AuditFilter, Principal
from .access import Capability, allow
from .deps import Deps

MAX_PAGE = 200
MAX_EXAMINED = 5_000  # entries read per request; a sparse filter continues on the next page


def search(principal: Principal, wanted: AuditFilter, *, after_seq: int, limit: int,
           deps: Deps) -> tuple[list[AuditEntry], int | None]:
    """Entries matching the filter in sequence order, and the seq to continue after (None: the end)."""
    allow(principal, Capability.READ, deps=deps)
    limit = max(1, min(limit, MAX_PAGE))
    found: list[AuditEntry] = []
    for examined, entry in enumerate(deps.audit.entries(principal.agency_id, after_seq), start=1):
        if wanted.matches(entry):
            found.append(entry)
        if len(found) == limit or examined == MAX_EXAMINED:
            return found, entry.seq
    return found, None


def verify(agency_id: str, *, deps: Deps) -> tuple[int, list[str]]:
    entries = list(deps.audit.entries(agency_id))
    return len(entries), verify_chain(entries)
