"""The export manifest: one row per file with its integrity on export and a custody summary,
rendered as JSON (verbatim) and CSV (safe to open in a spreadsheet)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .exports import COLUMNS, ExportJob, Integrity, ManifestRow, SourceDigest, integrity_of
from .models import AuditEntry, EvidenceFile, Origin, Submission


@dataclass(frozen=True)
class Custody:
    events: int = 0
    last_action: str | None = None
    last_at: datetime | None = None
    last_seq: int = 0


def custody_index(entries: Iterable[AuditEntry]) -> dict[str, Custody]:
    """Per audit target (submission:<id>, file:<id>): how many entries, and the last one."""
    index: dict[str, Custody] = {}
    for entry in entries:
        if entry.target.startswith(("submission:", "file:")):
            seen = index.get(entry.target, Custody())
            index[entry.target] = Custody(seen.events + 1, entry.action, entry.at, entry.seq)
    return index


def custody_of(index: dict[str, Custody], submission_id: str, file_id: str) -> Custody:
    parts = [index[t] for t in (f"submission:{submission_id}", f"file:{file_id}") if t in index]
    if not parts:
        return Custody()
    last = max(parts, key=lambda c: c.last_seq)
    return Custody(sum(p.events for p in parts), last.last_action, last.last_at, last.last_seq)


def make_row(job: ExportJob, submission: Submission, file: EvidenceFile, *, digest: SourceDigest | None,
             custody: Custody, key: str | None) -> ManifestRow:
    return ManifestRow(
        export_id=job.export_id, submission_id=submission.submission_id, file_id=file.file_id,
        case_ref=submission.case_ref, name=file.name, size=file.size, content_type=file.content_type,
        sha256=file.sha256, sha256_on_export=digest.sha256 if digest else None,
        integrity=integrity_of(file, digest), file_status=file.status.value, exported=digest is not None,
        bytes=digest.size if digest else 0, created_at=submission.created_at,
        submitted_at=submission.submitted_at, checked_at=file.checked_at, caption=file.caption,
        review_state=None if job.shared else submission.review.state.value, custody_events=custody.events,
        custody_last_action=custody.last_action, custody_last_at=custody.last_at,
        target_key=key if digest else None, source_key=file.key, source_version=file.version_id,
        **_origin(job, submission),
    )


def _origin(job: ExportJob, submission: Submission) -> dict[str, Any]:
    """An own item keeps its origin; one read through a share is `shared`, from whom, and what
    it was at the owner's (origin is never taken from a request, here or anywhere)."""
    if not job.shared:
        return {"origin": submission.origin}
    return {"origin": Origin.SHARED, "shared_by_agency_id": submission.agency_id,
            "original_origin": submission.origin}


def published(row: ManifestRow) -> dict[str, Any]:
    return row.model_dump(mode="json", include=set(COLUMNS))


def manifest_counts(rows: list[ManifestRow]) -> dict[str, int]:
    counts = {i.value: sum(r.integrity is i for r in rows) for i in Integrity}
    return {"files": len(rows), "exported": sum(r.exported for r in rows),
            "bytes": sum(r.bytes for r in rows), **counts}


def manifest_json(job: ExportJob, rows: list[ManifestRow]) -> bytes:
    body = {
        "export_id": job.export_id, "agency_id": job.agency_id, "requested_by": job.requested_by,
        **({"share_id": job.share_id, "shared_by_agency_id": job.shared_by_agency_id} if job.shared else {}),
        "filter": job.filter.model_dump(mode="json", by_alias=True), "target": job.target.model_dump(mode="json"),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "counts": manifest_counts(rows), "rows": [published(r) for r in rows],
    }
    return json.dumps(body, indent=1, ensure_ascii=False).encode("utf-8")


def manifest_csv(rows: list[ManifestRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in published(row).values()])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas; names and captions come from
    the public, so such text is prefixed with a quote (the JSON manifest keeps it verbatim)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

