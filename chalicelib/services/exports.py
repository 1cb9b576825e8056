"""Export to the agency's own storage. An export is a job that runs in chunks: each chunk does
one step at a time (count a page of submissions, export one file, write the manifest) and saves
its progress after every step, so a chunk that runs out of time, or is killed, resumes exactly
where the last saved step left it. Two chunks cannot both advance a job: each save is
conditioned on the version it read, and the loser stops with Conflict(code="export_busy").

With a share_id, a recipient agency exports another agency's items through a share made with it:
the job is the recipient's, every step first re-reads the share (revoked or expired: the job fails
with share_revoked/share_expired), the items are the owner's own (its case, or its one
submission), and the manifest rows say `shared`, by whom, and the item's original origin. The
start is recorded in both agencies' logs, with the job."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain import export_manifest as manifest
from ..domain import exports as rules
from ..domain import ids, sharing
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.exports import (
    BucketTarget,
    ChunkMessage,
    DownloadLinks,
    ExportCursor,
    ExportJob,
    ExportPhase,
    ExportRepository,
    ExportStatus,
    ExportStorage,
    Integrity,
    JobQueue,
    ManifestRow,
    StartExport,
    TargetRefused,
)
from ..domain.models import AuditEvent, EvidenceFile, Page, Principal, Submission
from ..domain.ports import AuditLog, Clock, ShareRepository, SubmissionRepository
from ..domain.sharing import Share, ShareState
from . import custody

log = logging.getLogger(__name__)
PAGE = 25  # submissions per listing page
MARGIN_SECONDS = 60.0  # stop a chunk when less time than this is left
_ROW_CURSOR = re.compile(r"^[0-9a-z]{1,40}#[0-9a-z]{1,40}$")


@dataclass(frozen=True)
class ExportDeps:
    clock: Clock
    exports: ExportRepository
    submissions: SubmissionRepository
    audit: AuditLog
    storage: ExportStorage
    queue: JobQueue
    evidence_bucket: str  # never a target: an export must not write into our own evidence store
    shares: ShareRepository  # exports of shared items read through the share, and re-check it


class FileDownload(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at import

    submission_id: str
    file_id: str
    name: str
    url: str


class Downloads(BaseModel):
    model_config = ConfigDict(defer_build=True)

    manifest_json: str
    manifest_csv: str
    files: list[FileDownload]
    expires_in: int
    next_cursor: str | None = None


class Withheld(BaseModel):
    model_config = ConfigDict(defer_build=True)
    code: str
    message: str


class ExportBody(ExportJob):
    """What the export routes answer: the job (not its resume cursor), and its downloads when ready."""

    model_config = ConfigDict(from_attributes=True)
    cursor: ExportCursor = Field(default_factory=ExportCursor, exclude=True)
    version: int = Field(default=0, exclude=True)
    downloads: Downloads | None = None
    downloads_withheld: Withheld | None = Field(default=None, exclude_if=lambda v: v is None)


class ExportView(BaseModel):
    """GET /agency/exports/{id}: progress, and for a finished download_links job, fresh URLs."""

    model_config = ConfigDict(defer_build=True)

    job: ExportJob
    downloads: Downloads | None = None
    withheld: ShareState | None = None  # a finished export through a share that has since ended

    def body(self) -> dict[str, Any]:
        withheld = None if self.withheld is None else Withheld(
            code=f"share_{self.withheld.value}",
            message=f"The share this export read through was {self.withheld.value}: no download URLs.")
        made = ExportBody.model_validate(self.job.model_dump() | {"downloads": self.downloads,
                                                                  "downloads_withheld": withheld})
        return made.model_dump(mode="json", by_alias=True)  # the filter's from/to


# --- the agency's calls ----------------------------------------------------------------------

def start_export(principal: Principal, cmd: StartExport, *, deps: ExportDeps) -> ExportJob:
    if isinstance(cmd.target, BucketTarget) and cmd.target.bucket == deps.evidence_bucket:
        raise InvalidInput("Export to a bucket of your own, not to the evidence store.", code="bad_export_target")
    share = _opened(principal.agency_id, cmd.share_id, deps) if cmd.share_id is not None else None
    if share is not None and cmd.case_ref is not None:
        _check_case(share, cmd.case_ref, deps)
    now = deps.clock.now()
    job = ExportJob(export_id=ids.new_id(now), agency_id=principal.agency_id, requested_by=principal.actor,
                    created_at=now, updated_at=now, filter=cmd.export_filter(), target=cmd.target,
                    share_id=share.share_id if share else None,
                    shared_by_agency_id=share.owner_agency_id if share else None)
    events = [custody.event(job.agency_id, deps=deps, actor=principal.actor, action="export.started",
                            target=f"export:{job.export_id}", details=_describe(job))]
    if share is not None:  # the owner's log records what of its evidence is leaving, and to whom
        events.append(custody.event(share.owner_agency_id, deps=deps, actor=principal.actor,
                                    action="shared_export.started", target=f"share:{share.share_id}",
                                    details={**_owner_details(share, job), "target_type": job.target.type,
                                             "filter": job.filter.model_dump(mode="json", by_alias=True)}))
    deps.exports.create_job(job, events=events)
    deps.queue.enqueue(job.agency_id, job.export_id)
    return job


def get_export(principal: Principal, export_id: str, *, deps: ExportDeps, cursor: str | None = None,
               limit: int = 100) -> ExportView:
    """Progress; for a finished download_links export also URLs signed now (never stored: they
    would die with the signing role's session) for the manifests and a page of files. Audited."""
    job = _job(principal.agency_id, export_id, deps)
    if job.status is not ExportStatus.DONE or not isinstance(job.target, DownloadLinks):
        return ExportView(job=job)
    if job.shared:
        return _shared_downloads(principal, job, cursor, limit, deps)
    downloads = _downloads(job, cursor, max(1, min(limit, 500)), deps)
    deps.audit.append(job.agency_id, at=deps.clock.now(), actor=principal.actor, action="export.downloaded",
                      target=f"export:{export_id}", details={"files": len(downloads.files), "cursor": cursor})
    return ExportView(job=job, downloads=downloads)


def retry_export(principal: Principal, export_id: str, *, deps: ExportDeps) -> ExportJob:
    """Resume a failed (or stalled) export from its cursor."""
    job = _job(principal.agency_id, export_id, deps)
    now = deps.clock.now()
    if not rules.can_retry(job, now):
        raise Conflict(f"This export is {job.status.value}; only a failed export can be retried.",
                       code="export_not_retryable")
    if job.shared:  # a revoked or expired share is refused here, before anything is stored
        _ensure_active(_share_of(job, deps), now)
    event = custody.event(job.agency_id, deps=deps, actor=principal.actor, action="export.retried",
                          target=f"export:{export_id}", details={"items_done": job.items_done})
    resumed = deps.exports.save_job(job.model_copy(update={
        "status": ExportStatus.RUNNING, "error": None, "error_code": None, "updated_at": now}), expected=job.status,
        event=event)
    deps.queue.enqueue(job.agency_id, export_id)
    return resumed


# --- the worker ------------------------------------------------------------------------------

def run_export_chunk(agency_id: str, export_id: str, *, deps: ExportDeps, time_left: Callable[[], float],
                     margin_seconds: float = MARGIN_SECONDS) -> ExportJob:
    """Advance the job until it is done or failed, or time_left() (seconds) drops under the
    margin. Returns the job as saved; Conflict(code="export_busy") if another run owns it."""
    job = _job(agency_id, export_id, deps)
    if job.status is not ExportStatus.RUNNING:
        return job
    chunk = _Chunk(job, deps)
    try:
        while chunk.job.status is ExportStatus.RUNNING and time_left() >= margin_seconds:
            chunk.step()
    except TargetRefused as refused:
        chunk.fail(refused)
    return chunk.job


def handle_chunk_message(body: str, *, deps: ExportDeps, time_left: Callable[[], float],
                         margin_seconds: float = MARGIN_SECONDS) -> ExportJob | None:
    """The queue consumer: run one chunk, and queue the next while the job is running. A message
    for a job another run owns, or that no longer exists, is dropped (returns None)."""
    try:
        msg = ChunkMessage.model_validate_json(body)
        job = run_export_chunk(msg.agency_id, msg.export_id, deps=deps, time_left=time_left,
                               margin_seconds=margin_seconds)
    except ValidationError:
        log.warning("dropping a malformed export chunk message: %.200s", body)
        return None
    except (Conflict, NotFound) as exc:
        if isinstance(exc, Conflict) and exc.code != "export_busy":
            raise  # e.g. audit contention: let the queue deliver it again
        log.info("export chunk dropped: %s", exc.message)
        return None
    if job.status is ExportStatus.RUNNING:
        deps.queue.enqueue(job.agency_id, job.export_id)
    return job


class _Chunk:
    """One run of a job. Holds the listing page being walked and the custody summary, each read
    at most once per chunk."""

    def __init__(self, job: ExportJob, deps: ExportDeps) -> None:
        self.deps, self.job = deps, job
        self._page: tuple[str | None, Page] | None = None
        self._custody: dict[str, manifest.Custody] | None = None
        self._share: Share | None = None
        self._save(chunks=job.chunks + 1)  # claim it: a concurrent run now fails its next save

    def step(self) -> None:
        if self.job.shared and not self._share_still_open():
            return
        if self.job.phase is ExportPhase.COUNTING:
            self._count_page()
        elif self.job.phase is ExportPhase.COPYING:
            self._export_next()
        else:
            self._write_manifest()

    def fail(self, refused: TargetRefused) -> None:
        self._fail(refused.message, refused.reason, {"bucket": refused.bucket, "reason": refused.reason})

    def _fail(self, message: str, code: str, details: dict[str, Any]) -> None:
        event = self._event("export.failed", f"export:{self.job.export_id}", outcome="failed",
                            details={**details, "items_done": self.job.items_done})
        self._save(status=ExportStatus.FAILED, error=message, error_code=code, event=event)

    def _share_still_open(self) -> bool:
        """Every step reads the share again (consistently): one that was revoked or has expired
        fails the job at once, before another file is read through it."""
        share = self.deps.shares.get_share(self.job.shared_by_agency_id or "", self.job.share_id or "")
        if share is None or share.recipient_agency_id != self.job.agency_id:
            self._fail("The share this export reads through no longer exists.", "share_not_found",
                       {"share_id": self.job.share_id})
            return False
        state = sharing.state(share, self.deps.clock.now())
        if state is not ShareState.ACTIVE:
            self._fail(f"The share this export reads through was {state.value}: nothing more is exported, "
                       f"and the export cannot be retried unless the owner shares it again.", f"share_{state.value}",
                       {"share_id": share.share_id, "reason": f"share_{state.value}"})
            return False
        self._share = share
        return True

    def _count_page(self) -> None:
        page = self._listing()
        found = sum(len(rules.files_in(s, self.job)) for s in page.items)
        nxt = page.next_cursor
        self._save(items_total=self.job.items_total + found, cursor=ExportCursor(page=nxt),
                   phase=ExportPhase.COUNTING if nxt else ExportPhase.COPYING)

    def _export_next(self) -> None:
        page = self._listing()
        todo = rules.pending(page.items, self.job)
        if not todo:
            nxt = page.next_cursor
            self._save(cursor=ExportCursor(page=nxt), phase=ExportPhase.COPYING if nxt else ExportPhase.MANIFEST)
            return
        submission, file = todo[0]
        row, event = self._export(submission, file)
        counts = {**self.job.counts, row.integrity.value: self.job.counts.get(row.integrity.value, 0) + 1}
        items_done = self.job.items_done + 1
        progress = self.job.model_copy(update={
            "items_done": items_done, "items_total": max(self.job.items_total, items_done),
            "bytes_done": self.job.bytes_done + row.bytes, "counts": counts, "updated_at": self.deps.clock.now(),
            "cursor": self.job.cursor.model_copy(update={"after_submission": submission.submission_id,
                                                         "after_file": file.file_id})})
        # Row first, then progress. A run killed in between redoes just this item: the copy and the
        # row overwrite themselves. A run that lost the job may rewrite this one row, identically.
        self.deps.exports.put_row(row)
        self.job = self.deps.exports.save_job(progress, expected=ExportStatus.RUNNING, event=event)

    def _export(self, submission: Submission, file: EvidenceFile) -> tuple[ManifestRow, AuditEvent | None]:
        """Hash (and copy) one file; its row, and the event to record with the progress if it failed
        its check (recorded with the progress, so a rerun of this item never records it twice)."""
        digest = self.deps.storage.digest(file.key, file.version_id) if file.sha256 else None
        target = self.job.target if isinstance(self.job.target, BucketTarget) else None
        key = rules.target_key(target, submission, file) if target else None
        if digest and target and key:
            self.deps.storage.copy(file.key, version_id=digest.version_id, bucket=target.bucket, target_key=key,
                                   tags=self._tags())
        row = manifest.make_row(self.job, submission, file, digest=digest, key=key,
                             custody=manifest.custody_of(self._custody_index(), submission.submission_id, file.file_id))
        if row.integrity not in (Integrity.MISMATCH, Integrity.MISSING):
            return row, None
        return row, self._event(
            "export.integrity_check", f"file:{file.file_id}", outcome="integrity_failed",
            details={"export_id": self.job.export_id, "submission_id": submission.submission_id,
                     "integrity": row.integrity.value, "recorded": file.sha256, "found": row.sha256_on_export})

    def _write_manifest(self) -> None:
        rows = self.deps.exports.rows(self.job.export_id)
        now = self.deps.clock.now()
        final = self.job.model_copy(update={"finished_at": now, "items_total": len(rows)})
        bucket, json_key, csv_key = rules.manifest_keys(final)
        tags = self._tags() if bucket else None
        self.deps.storage.put(json_key, manifest.manifest_json(final, rows), content_type="application/json",
                              bucket=bucket, tags=tags)
        self.deps.storage.put(csv_key, manifest.manifest_csv(rows), content_type="text/csv; charset=utf-8",
                              bucket=bucket, tags=tags)
        event = self._event("export.completed", f"export:{self.job.export_id}",
                            details={**manifest.manifest_counts(rows), "manifest": json_key})
        self._save(status=ExportStatus.DONE, phase=ExportPhase.FINISHED, finished_at=now, items_total=len(rows),
                   event=event)

    def _listing(self) -> Page:
        at = self.job.cursor.page
        if self._page is None or self._page[0] != at:
            if self._share is not None:
                page = _shared_page(self._share, at, self.deps)
            else:
                page = self.deps.submissions.list_submissions(self.job.agency_id, case_ref=self.job.filter.case_ref,
                                                              limit=PAGE, cursor=at)
            self._page = (at, page)
        return self._page[1]

    def _custody_index(self) -> dict[str, manifest.Custody]:
        if self._custody is None:
            self._custody = manifest.custody_index(self.deps.audit.entries(self.job.agency_id))
        return self._custody

    def _tags(self) -> dict[str, str]:
        return {rules.TAG_KEY: self.job.agency_id}

    def _save(self, event: AuditEvent | None = None, **changes: Any) -> None:
        update = self.job.model_copy(update={**changes, "updated_at": self.deps.clock.now()})
        self.job = self.deps.exports.save_job(update, expected=ExportStatus.RUNNING, event=event)

    def _event(self, action: str, target: str, *, outcome: str = "success", details: dict[str, Any]) -> AuditEvent:
        return custody.event(self.job.agency_id, deps=self.deps, actor="system:export", action=action,
                             target=target, outcome=outcome, details=details)


# --- helpers ---------------------------------------------------------------------------------

def _job(agency_id: str, export_id: str, deps: ExportDeps) -> ExportJob:
    job = deps.exports.get_job(agency_id, export_id) if re.fullmatch(r"[0-9a-z]{26}", export_id) else None
    if job is None:
        raise NotFound("No such export.", code="export_not_found")
    return job


def _downloads(job: ExportJob, cursor: str | None, limit: int, deps: ExportDeps) -> Downloads:
    if cursor is not None and not _ROW_CURSOR.match(cursor):
        raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
    rows = deps.exports.rows(job.export_id, after=cursor, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    _, json_key, csv_key = rules.manifest_keys(job)

    def sign(key: str, name: str, version_id: str | None = None) -> str:
        return deps.storage.presign(key, filename=name, expires_in=rules.DOWNLOAD_TTL, version_id=version_id)

    files = [FileDownload(submission_id=r.submission_id, file_id=r.file_id, name=r.name,
                          url=sign(r.source_key, r.name, r.source_version))
             for r in page if r.exported]
    return Downloads(manifest_json=sign(json_key, "manifest.json"), manifest_csv=sign(csv_key, "manifest.csv"),
                     files=files, expires_in=int(rules.DOWNLOAD_TTL.total_seconds()),
                     next_cursor=page[-1].row_key if more else None)


def _describe(job: ExportJob) -> dict[str, Any]:
    shared = {"share_id": job.share_id, "owner_agency_id": job.shared_by_agency_id, "origin": "shared"}
    return {"filter": job.filter.model_dump(mode="json", by_alias=True), "target": job.target.model_dump(mode="json"),
            **(shared if job.shared else {})}


# --- exports through a share -----------------------------------------------------------------

def _opened(recipient_agency_id: str, share_id: str, deps: ExportDeps) -> Share:
    """The active share made with this agency; as GET /agency/shared/... answers: another agency's
    share is as unknown as a made-up id, a revoked or expired one says so."""
    found = deps.shares.shared_with(recipient_agency_id, share_id) if ids.is_id(share_id) else None
    if found is None:
        raise NotFound("No such share.", code="share_not_found")
    _ensure_active(found, deps.clock.now())
    return found


def _ensure_active(share: Share, now: datetime) -> None:
    state = sharing.state(share, now)
    if state is not ShareState.ACTIVE:
        raise NotFound(f"This share was {state.value}.", code=f"share_{state.value}")


def _share_of(job: ExportJob, deps: ExportDeps) -> Share:
    found = deps.shares.get_share(job.shared_by_agency_id or "", job.share_id or "")
    if found is None or found.recipient_agency_id != job.agency_id:
        raise NotFound("No such share.", code="share_not_found")
    return found


def _check_case(share: Share, case_ref: str, deps: ExportDeps) -> None:
    """A case filter with a share must name the share's case (for a one-item share, that item's)."""
    case = share.case_ref
    if case is None:
        one = deps.submissions.get_submission(share.owner_agency_id, share.submission_id or "")
        case = one.case_ref if one else None
    if case_ref != case:
        raise InvalidInput("That share does not cover this case: leave case_ref out, or give the share's case.",
                           code="case_not_in_share")


def _shared_page(share: Share, cursor: str | None, deps: ExportDeps) -> Page:
    """A page of the owner's items the share covers: its case, walked like the owner's listing,
    or its one submission (gone once the owner's retention deleted it)."""
    if share.case_ref is not None:
        page = deps.submissions.list_submissions(share.owner_agency_id, case_ref=share.case_ref, limit=PAGE,
                                                 cursor=cursor)
    else:
        one = deps.submissions.get_submission(share.owner_agency_id, share.submission_id or "")
        page = Page(items=[one] if one else [], next_cursor=None)
    return Page(items=[s for s in page.items if sharing.covers_submission(share, s)], next_cursor=page.next_cursor)


def _owner_details(share: Share, job: ExportJob) -> dict[str, Any]:
    return {"share_id": share.share_id, "scope": share.scope, "export_id": job.export_id,
            "by_agency_id": job.agency_id, "recipient_agency_id": job.agency_id}


def _shared_downloads(principal: Principal, job: ExportJob, cursor: str | None, limit: int,
                      deps: ExportDeps) -> ExportView:
    """A finished export through a share gives URLs only while the share is active, and records
    each such view in both logs together, only if the share is still not revoked (as a shared
    item's view does): after a revocation no URL leaves."""
    share = _share_of(job, deps)
    state = sharing.state(share, deps.clock.now())
    if state is not ShareState.ACTIVE:
        return ExportView(job=job, withheld=state)
    downloads = _downloads(job, cursor, max(1, min(limit, 500)), deps)
    details = {"files": len(downloads.files), "cursor": cursor}
    events = [custody.event(job.agency_id, deps=deps, actor=principal.actor, action="export.downloaded",
                            target=f"export:{job.export_id}",
                            details={**details, "share_id": share.share_id, "owner_agency_id": share.owner_agency_id}),
              custody.event(share.owner_agency_id, deps=deps, actor=principal.actor, action="shared_export.downloaded",
                            target=f"share:{share.share_id}", details={**details, **_owner_details(share, job)})]
    try:
        deps.shares.record_view(share, events=events)
    except Conflict:  # revoked between the read and the record
        return ExportView(job=job, withheld=ShareState.REVOKED)
    return ExportView(job=job, downloads=downloads)
