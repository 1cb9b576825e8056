"""The audit log's rules.

Custody is written in two steps so that it is never lost by a crash and never refuses an action:
1. every change writes an `AuditEvent` to the agency's inbox in the same transaction as the
   change itself (an append-only item with its own unique key: no item every request must update);
2. one sequencer per agency takes waiting events in order and chains them: each entry gets the
   next sequence number and a hash over its content and the previous entry's hash, so editing,
   reordering or removing an entry breaks every hash after it."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from . import ids
from .models import AuditEntry, AuditEvent

GENESIS = "0" * 64
CHAIN_BATCH = 25  # events chained per transaction: 2 writes each + the head stay under DynamoDB's 100


def new_event(
    agency_id: str, *, at: datetime, actor: str, action: str, target: str, outcome: str = "success",
    details: dict[str, Any] | None = None, source: str = "", usage_delta: int = 0,
) -> AuditEvent:
    return AuditEvent(event_id=ids.new_id(at), agency_id=agency_id, at=at, actor=actor, action=action,
                      target=target, outcome=outcome, details=details or {}, source=source,
                      usage_delta=usage_delta)


def entry_hash(
    *, agency_id: str, seq: int, at: datetime, actor: str, action: str, target: str,
    outcome: str, details: dict[str, Any], prev_hash: str, source: str = "", event_id: str = "",
) -> str:
    body = {
        "agency_id": agency_id, "seq": seq, "at": at.isoformat(), "actor": actor,
        "action": action, "target": target, "outcome": outcome, "details": details,
        "prev_hash": prev_hash, "source": source,
    }
    if event_id:  # entries chained before the inbox existed have none, and keep their hashes
        body["event_id"] = event_id
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain(events: Iterable[AuditEvent], prev: tuple[int, str] | None) -> list[AuditEntry]:
    """Entries for these events, in the order given, following the entry (seq, hash) `prev`."""
    entries: list[AuditEntry] = []
    for event in events:
        entry = next_entry(agency_id=event.agency_id, prev=prev, at=event.at, actor=event.actor,
                           action=event.action, target=event.target, outcome=event.outcome,
                           details=event.details, source=event.source, event_id=event.event_id)
        entries.append(entry)
        prev = (entry.seq, entry.hash)
    return entries


def next_entry(
    *, agency_id: str, prev: tuple[int, str] | None, at: datetime, actor: str, action: str,
    target: str, outcome: str = "success", details: dict[str, Any] | None = None, source: str = "",
    event_id: str = "",
) -> AuditEntry:
    seq, prev_hash = (prev[0] + 1, prev[1]) if prev else (1, GENESIS)
    fields = dict(agency_id=agency_id, seq=seq, at=at, actor=actor, action=action, target=target,
                  outcome=outcome, details=details or {}, prev_hash=prev_hash, source=source,
                  event_id=event_id)
    return AuditEntry(**fields, hash=entry_hash(**fields))  # type: ignore[arg-type]


def verify_chain(entries: Iterable[AuditEntry]) -> list[str]:
    """Problems found in a chain read in sequence order; an empty list means intact."""
    problems: list[str] = []
    expected_seq, expected_prev = 1, GENESIS
    seen_events: set[str] = set()
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (found {entry.seq})")
        if entry.prev_hash != expected_prev:
            problems.append(f"entry {entry.seq} does not follow the entry before it")
        recomputed = entry_hash(**entry.model_dump(exclude={"hash"}))
        if recomputed != entry.hash:
            problems.append(f"entry {entry.seq} was altered")
        if entry.event_id and entry.event_id in seen_events:
            problems.append(f"entry {entry.seq} repeats event {entry.event_id}")
        seen_events.add(entry.event_id)
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return problems
