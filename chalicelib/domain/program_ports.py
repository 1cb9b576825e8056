"""What the improvement program's part 2 needs from storage and from KMS: its own store of
artifacts, lineage, source index and deletion journal; its own bucket; a signing key. DynamoDB,
S3 and KMS adapters in chalicelib/adapters, memory ones for the unit tests."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Protocol

from .lineage import Artifact, Lineage
from .models import AuditEvent
from .program import RemovalRequest, WithdrawalRequest
from .receipts import Deleted, Receipt


class ProgramStore(Protocol):
    @property
    def name(self) -> str:
        """How receipts name this store, e.g. `dynamodb:<table>`."""

    def get_lineage(self, artifact_id: str) -> Lineage | None: ...
    def put_artifact(self, lineage: Lineage, artifact: Artifact, *, event: AuditEvent) -> bool:
        """Index entries first, then lineage, content and event together; False if it already existed."""
    def artifacts_of_agency(self, agency_id: str) -> Iterator[str]: ...
    def artifacts_of_source(self, source: str) -> Iterator[str]: ...
    def children(self, artifact_id: str) -> Iterator[str]: ...
    def content_key(self, artifact_id: str) -> str: ...
    def lineage_key(self, artifact_id: str) -> str: ...
    def delete_artifact(self, artifact_id: str, lineage: Lineage | None) -> None:
        """Content, index entries, then lineage last (found again by a rerun until then); repeatable."""
    def journal_add(self, receipt_id: str, entry_key: str, entry: Deleted) -> None:
        """Record what is about to be deleted, once (a rerun keeps the first entry)."""
    def journal(self, receipt_id: str) -> list[Deleted]: ...
    def complete(self, receipt: Receipt, request: WithdrawalRequest | RemovalRequest | None, *,
                 event: AuditEvent) -> None:
        """The signed receipt, the request marked done (out of the due index) and the event, at once."""
    def get_receipt(self, receipt_id: str) -> Receipt | None: ...
    def file_source(self, source: str, check_on: date) -> None:
        """When to look again whether a source item still exists (retention may delete it)."""
    def sources_due(self, through: date) -> Iterator[str]: ...
    def drop_source(self, source: str) -> None: ...


class ProgramMedia(Protocol):
    """The program's own bucket (versioned, no Object Lock)."""

    @property
    def name(self) -> str: ...
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def delete_all_versions(self, key: str) -> int: ...


class Signer(Protocol):
    def sign(self, message: bytes) -> tuple[str, str, str]:
        """(base64 signature, key id, algorithm)."""
    def public_key_der(self) -> bytes: ...
