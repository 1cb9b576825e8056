"""Lineage of what the improvement program holds: each artifact records, apart from its content,
the participants and source items it came from, the use case and version, the technique and its
parent artifacts, so that deleting anything deletes everything that derives from it. An artifact's
id is fixed by its slot (use case, version, technique, agency, and the week or the file it covers),
so running an extraction again finds it and adds nothing. Pure."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import Field

from .models import Record


class Lineage(Record):
    artifact_id: str
    use_case_id: str
    use_case_version: int
    technique: str
    agency_ids: list[str]
    sources: list[str]  # "<agency>/<submission>" (domain/program_eligibility.source_ref)
    parents: list[str] = Field(default_factory=list)
    created_at: datetime
    content_sha256: str
    media_key: str | None = None  # the program bucket's key (Tier 2 copies); None for records
    slot: str


class Artifact(Record):
    """An artifact's content, stored apart from its lineage: records (Tier 1) or nothing but the
    bucket key (Tier 2, the bytes are in the program bucket)."""

    artifact_id: str
    records: list[dict[str, Any]] = Field(default_factory=list)


def artifact_id(slot: str) -> str:
    return hashlib.sha256(slot.encode("utf-8")).hexdigest()[:32]


def slot(use_case_id: str, version: int, technique: str, agency_id: str, part: str) -> str:
    return f"{use_case_id}#V{version}#{technique}#{agency_id}#{part}"


def content_hash(records: list[dict[str, Any]] | None = None, data: bytes | None = None) -> str:
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha256(json.dumps(records or [], sort_keys=True).encode("utf-8")).hexdigest()


def closure(roots: Iterable[str], children: Callable[[str], Iterable[str]]) -> list[str]:
    """The roots and everything derived from them, transitively, each once, in a stable order."""
    seen: dict[str, None] = {}
    stack = sorted(set(roots), reverse=True)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen[current] = None
        stack.extend(sorted((c for c in children(current) if c not in seen), reverse=True))
    return list(seen)
