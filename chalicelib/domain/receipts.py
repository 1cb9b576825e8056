"""Deletion receipts: for one request, every store, key and content hash deleted and when, as a hash
chain (each entry's hash covers the one before it), whose head is signed with an asymmetric KMS
key. Changing, dropping or reordering an entry breaks the chain or the signed head; the signature
verifies with the public key alone (chalicelib/receipt_verify.py). Pure: signing is a port."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from .commands import Command
from .models import Record

GENESIS = "0" * 64


class ReceiptKind(str, Enum):
    WITHDRAWAL = "withdrawal"
    REMOVAL = "removal"
    RETENTION = "retention"  # the agency's retention deleted a source item: the program's copies follow


class Deleted(Record):
    """One thing deleted: which store (e.g. `dynamodb:<table>`, `s3:<bucket>`), which key, the
    SHA-256 of what it held, and when."""

    store: str
    key: str
    content_sha256: str
    deleted_at: datetime


class ChainedEntry(Deleted):
    prev_hash: str
    hash: str


class Receipt(Record):
    receipt_id: str  # the request's id (or `retention-<agency>-<submission>`)
    agency_id: str
    kind: ReceiptKind
    requested_at: datetime
    completed_at: datetime
    entries: list[ChainedEntry] = Field(default_factory=list)
    head_hash: str = GENESIS
    key_id: str = ""
    algorithm: str = ""
    signature: str = ""  # base64 of the signature over signed_message()


def entry_hash(prev_hash: str, entry: Deleted) -> str:
    body = json.dumps({"prev": prev_hash, **entry.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def chain(entries: list[Deleted]) -> list[ChainedEntry]:
    chained, prev = [], GENESIS
    for entry in entries:
        current = entry_hash(prev, entry)
        chained.append(ChainedEntry(**entry.model_dump(), prev_hash=prev, hash=current))
        prev = current
    return chained


def signed_message(receipt: Receipt) -> bytes:
    """What the key signs: who, what, when, how many entries and the chain's head."""
    fields: dict[str, Any] = {"receipt_id": receipt.receipt_id, "agency_id": receipt.agency_id,
                              "kind": receipt.kind.value, "requested_at": receipt.requested_at.isoformat(),
                              "completed_at": receipt.completed_at.isoformat(), "count": len(receipt.entries),
                              "head_hash": receipt.head_hash}
    return json.dumps(fields, sort_keys=True).encode("utf-8")


class Problem(str, Enum):
    ENTRY_ALTERED = "entry_altered"
    CHAIN_BROKEN = "chain_broken"  # an entry missing, added or moved
    HEAD_MISMATCH = "head_mismatch"
    BAD_SIGNATURE = "bad_signature"


def chain_problem(receipt: Receipt) -> Problem | None:
    """Recompute the chain from the entries: None when it holds together and ends at the head."""
    prev = GENESIS
    for entry in receipt.entries:
        if entry.prev_hash != prev:
            return Problem.CHAIN_BROKEN
        if entry_hash(prev, Deleted(**entry.model_dump(include=set(Deleted.model_fields)))) != entry.hash:
            return Problem.ENTRY_ALTERED
        prev = entry.hash
    return None if prev == receipt.head_hash else Problem.HEAD_MISMATCH


class ReceiptId(Command):
    """`GET /agency/program/receipts/{receipt_id}`: a request id, or `retention-<agency>-<submission>`."""

    receipt_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$")]
