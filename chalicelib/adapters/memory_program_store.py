"""The program's own store, bucket and signing key in memory: unit tests, the time-travel proof and
the deletion bench run on these; tests/integration runs the same contract on DynamoDB, S3 and KMS."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from typing import Any

from ..domain.errors import Conflict
from ..domain.lineage import Artifact, Lineage
from ..domain.models import AuditEvent
from ..domain.program import RemovalRequest, WithdrawalRequest
from ..domain.receipts import Deleted, Receipt
from .memory_audit import MemoryAuditLog
from .memory_program import MemoryProgram


class MemoryProgramStore:
    name = "memory:program"

    def __init__(self, program: MemoryProgram, audit: MemoryAuditLog | None = None) -> None:
        self.program, self.audit = program, audit or program.audit
        self.lineages: dict[str, Lineage] = {}
        self.contents: dict[str, Artifact] = {}
        self.index: dict[str, set[str]] = {}  # "AGENCY#a" / "SRC#a/s" / "PARENT#id" -> artifact ids
        self.journals: dict[str, dict[str, Deleted]] = {}
        self.receipts: dict[str, Receipt] = {}
        self.sources: dict[str, date] = {}
        self.calls = 0  # what the deletion bench counts, as it counts AWS calls on the real store

    def _call(self, n: int = 1) -> None:
        self.calls += n

    def get_lineage(self, artifact_id: str) -> Lineage | None:
        self._call()
        return self.lineages.get(artifact_id)

    def put_artifact(self, lineage: Lineage, artifact: Artifact, *, event: AuditEvent) -> bool:
        for key in index_keys(lineage):
            self._call()
            self.index.setdefault(key, set()).add(lineage.artifact_id)
        self._call()
        if lineage.artifact_id in self.lineages:
            return False
        self.lineages[lineage.artifact_id] = lineage
        self.contents[lineage.artifact_id] = artifact
        self.audit.record(event)
        return True

    def _find(self, key: str) -> Iterator[str]:
        self._call()
        yield from sorted(self.index.get(key, ()))

    def artifacts_of_agency(self, agency_id: str) -> Iterator[str]:
        return self._find(f"AGENCY#{agency_id}")

    def artifacts_of_source(self, source: str) -> Iterator[str]:
        return self._find(f"SRC#{source}")

    def children(self, artifact_id: str) -> Iterator[str]:
        return self._find(f"PARENT#{artifact_id}")

    def content_key(self, artifact_id: str) -> str:
        return f"ART#{artifact_id}/CONTENT"

    def lineage_key(self, artifact_id: str) -> str:
        return f"ART#{artifact_id}/LINEAGE"

    def delete_artifact(self, artifact_id: str, lineage: Lineage | None) -> None:
        self._call()
        self.contents.pop(artifact_id, None)
        for key in index_keys(lineage) if lineage else [k for k, ids in self.index.items() if artifact_id in ids]:
            self._call()
            self.index.get(key, set()).discard(artifact_id)
        self._call()
        self.lineages.pop(artifact_id, None)

    def journal_add(self, receipt_id: str, entry_key: str, entry: Deleted) -> None:
        self._call()
        self.journals.setdefault(receipt_id, {}).setdefault(entry_key, entry)

    def journal(self, receipt_id: str) -> list[Deleted]:
        self._call()
        return [e for _, e in sorted(self.journals.get(receipt_id, {}).items())]

    def complete(self, receipt: Receipt, request: WithdrawalRequest | RemovalRequest | None, *,
                 event: AuditEvent) -> None:
        self._call()
        if receipt.receipt_id in self.receipts:
            raise Conflict("That receipt is already recorded.", code="receipt_exists")
        if request is not None:
            store: dict[str, Any] = (self.program.withdrawn if isinstance(request, WithdrawalRequest)
                                     else self.program.removed)
            if store[request.request_id].done_at is not None:
                raise Conflict("That request is already done.", code="request_done")
            store[request.request_id] = store[request.request_id].model_copy(update={"done_at": receipt.completed_at})
        self.receipts[receipt.receipt_id] = receipt
        self.audit.record(event)

    def get_receipt(self, receipt_id: str) -> Receipt | None:
        self._call()
        return self.receipts.get(receipt_id)

    def file_source(self, source: str, check_on: date) -> None:
        self._call()
        self.sources[source] = check_on

    def sources_due(self, through: date) -> Iterator[str]:
        self._call()
        yield from sorted(s for s, day in self.sources.items() if day <= through)

    def drop_source(self, source: str) -> None:
        self._call()
        self.sources.pop(source, None)


def index_keys(lineage: Lineage) -> list[str]:
    """The lookups an artifact is filed under: each agency, each source item, each parent."""
    return ([f"AGENCY#{a}" for a in lineage.agency_ids] + [f"SRC#{s}" for s in lineage.sources]
            + [f"PARENT#{p}" for p in lineage.parents])


class MemoryProgramMedia:
    name = "memory:program-bucket"

    def __init__(self) -> None:
        self.versions: dict[str, list[bytes]] = {}
        self.calls = 0

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.calls += 1
        self.versions.setdefault(key, []).append(data)

    def delete_all_versions(self, key: str) -> int:
        self.calls += 1
        return len(self.versions.pop(key, []))


class LocalSigner:
    """An ECDSA P-256 key held in the process (tests, the time-travel proof): the same signature
    scheme as the KMS key (ECDSA_SHA_256), so receipt_verify.py checks both alike."""

    algorithm = "ECDSA_SHA_256"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = "local-p256"

    def sign(self, message: bytes) -> tuple[str, str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signature = self._key.sign(message, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode(), self.key_id, self.algorithm

    def public_key_der(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
