"""The audit hash chain: each entry's hash covers its content and the previous entry's hash,
so editing, reordering or removing an entry breaks every hash after it."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .models import AuditEntry

GENESIS = "0" * 64


def entry_hash(
    *, agency_id: str, seq: int, at: datetime, actor: str, action: str, target: str,
    outcome: str, details: dict[str, Any], prev_hash: str, source: str = "",
) -> str:
    body = {
        "agency_id": agency_id, "seq": seq, "at": at.isoformat(), "actor": actor,
        "action": action, "target": target, "outcome": outcome, "details": details,
        "prev_hash": prev_hash, "source": source,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def next_entry(
    *, agency_id: str, prev: tuple[int, str] | None, at: datetime, actor: str, action: str,
    target: str, outcome: str = "success", details: dict[str, Any] | None = None, source: str = "",
) -> AuditEntry:
    seq, prev_hash = (prev[0] + 1, prev[1]) if prev else (1, GENESIS)
    fields = dict(agency_id=agency_id, seq=seq, at=at, actor=actor, action=action, target=target,
                  outcome=outcome, details=details or {}, prev_hash=prev_hash, source=source)
    return AuditEntry(**fields, hash=entry_hash(**fields))  # type: ignore[arg-type]


def verify_chain(entries: Iterable[AuditEntry]) -> list[str]:
    """Problems found in a chain read in sequence order; an empty list means intact."""
    problems: list[str] = []
    expected_seq, expected_prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (found {entry.seq})")
        if entry.prev_hash != expected_prev:
            problems.append(f"entry {entry.seq} does not follow the entry before it")
        recomputed = entry_hash(**entry.model_dump(exclude={"hash"}))
        if recomputed != entry.hash:
            problems.append(f"entry {entry.seq} was altered")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return problems
