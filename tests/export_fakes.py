"""In-memory implementations of the export ports: real classes whose state tests assert on. They
keep the same contract as DynamoExports, S3ExportStorage and SqsJobQueue."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from chalicelib.adapters.memory_audit import MemoryAuditLog
from chalicelib.domain.errors import Conflict
from chalicelib.domain.exports import ExportJob, ExportStatus, ManifestRow, SourceDigest, TargetRefused
from chalicelib.domain.models import AuditEvent
from tests.fakes import MemoryBlobs, Recorder


class MemoryExports(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.jobs: dict[tuple[str, str], ExportJob] = {}
        self.manifests: dict[str, dict[str, ManifestRow]] = {}
        self.row_writes = 0

    def create_job(self, job: ExportJob, *, event: AuditEvent | None = None,
                   events: Sequence[AuditEvent] = ()) -> None:
        if (job.agency_id, job.export_id) in self.jobs:
            raise Conflict("That export already exists.")
        self.jobs[(job.agency_id, job.export_id)] = job.model_copy(deep=True)
        for one in ([event] if event is not None else []) + list(events):
            self._record(one)

    def get_job(self, agency_id: str, export_id: str) -> ExportJob | None:
        found = self.jobs.get((agency_id, export_id))
        return found.model_copy(deep=True) if found else None

    def save_job(self, job: ExportJob, *, expected: ExportStatus, event: AuditEvent | None = None) -> ExportJob:
        stored = self.jobs.get((job.agency_id, job.export_id))
        if stored is None or stored.version != job.version or stored.status is not expected:
            raise Conflict("Another run moved this export first.", code="export_busy")
        saved = job.model_copy(update={"version": job.version + 1}, deep=True)
        self.jobs[(job.agency_id, job.export_id)] = saved
        self._record(event)
        return saved.model_copy(deep=True)

    def put_row(self, row: ManifestRow) -> None:
        self.manifests.setdefault(row.export_id, {})[row.row_key] = row.model_copy(deep=True)
        self.row_writes += 1

    def rows(self, export_id: str, *, after: str | None = None, limit: int | None = None) -> list[ManifestRow]:
        mine = sorted(self.manifests.get(export_id, {}).items())
        ordered = [row for key, row in mine if after is None or key > after]
        return ordered[:limit] if limit is not None else ordered


@dataclass
class StoredObject:
    body: bytes
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class MemoryExportStorage:
    """The evidence bucket is a MemoryBlobs (tests put evidence there as uploads would); target
    buckets exist once created; `refuse` makes a bucket answer with an S3 error code."""

    def __init__(self, blobs: MemoryBlobs) -> None:
        self.blobs = blobs
        self.buckets: dict[str, dict[str, StoredObject]] = {}
        self.refuse: dict[str, str] = {}
        self.hashed: list[str] = []
        self.signed: list[tuple[str, str, timedelta]] = []

    def create_bucket(self, name: str) -> dict[str, StoredObject]:
        return self.buckets.setdefault(name, {})

    def digest(self, key: str, version_id: str | None = None) -> SourceDigest | None:
        if self.blobs.head(key, version_id) is None:
            return None
        self.hashed.append(key)
        data = b"".join(self.blobs.iter_chunks(key, version_id))
        return SourceDigest(sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                            version_id=version_id or self.blobs.head(key).version_id)

    def copy(self, key: str, *, version_id: str | None, bucket: str, target_key: str,
             tags: dict[str, str]) -> None:
        data, content_type = self.blobs.objects[key]
        self._bucket(bucket)[target_key] = StoredObject(data, content_type, dict(tags))

    def put(self, key: str, body: bytes, *, content_type: str, bucket: str | None = None,
            tags: dict[str, str] | None = None) -> None:
        if bucket is None:
            self.blobs.put(key, body, content_type)
            return
        self._bucket(bucket)[key] = StoredObject(body, content_type, dict(tags or {}))

    def presign(self, key: str, *, filename: str, expires_in: timedelta, version_id: str | None = None) -> str:
        self.signed.append((key, filename, expires_in))
        return f"https://downloads.example/{key}?expires={int(expires_in.total_seconds())}"

    def _bucket(self, name: str) -> dict[str, StoredObject]:
        if name in self.refuse:
            raise TargetRefused(name, self.refuse[name])
        if name not in self.buckets:
            raise TargetRefused(name, "NoSuchBucket")
        return self.buckets[name]


class MemoryJobQueue:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def enqueue(self, agency_id: str, export_id: str) -> None:
        self.messages.append((agency_id, export_id))

    def take(self) -> tuple[str, str] | None:
        return self.messages.pop(0) if self.messages else None
