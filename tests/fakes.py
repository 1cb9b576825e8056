"""In-memory implementations of the ports: real classes whose state tests can assert on.
They follow the same contract as the DynamoDB/S3 adapters (tests/integration runs both)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from chalicelib.adapters.memory_audit import MemoryAuditLog
from chalicelib.adapters.memory_licenses import MemoryLicenses
from chalicelib.adapters.memory_limits import MemoryRateCounter
from chalicelib.adapters.memory_portals import MemoryPortals
from chalicelib.adapters.memory_program import MemoryProgram
from chalicelib.adapters.memory_program_notices import MemoryProgramNotices
from chalicelib.domain.access_requests import AccessRequest, RequestStatus
from chalicelib.domain.errors import Conflict, DeliveryFailed, InvalidInput
from chalicelib.domain.models import (
    Agency,
    ApiKey,
    AuditEvent,
    CitizenLink,
    EvidenceFile,
    FileStatus,
    Hold,
    Page,
    ReviewState,
    Submission,
    SubmissionStatus,
    TamperAttempt,
    Tombstone,
)
from chalicelib.domain.multipart import Part
from chalicelib.domain.ports import ObjectInfo, PendingUpload, PresignedPost
from chalicelib.domain.sharing import Share
from chalicelib.services.deps import Deps

START = datetime(2020, 4, 1, 9, 0, tzinfo=timezone.utc)


class Recorder:
    """What every memory repository shares with the audit log: a write that carries an event
    records it, as the DynamoDB adapters put it in the same transaction."""

    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        self.audit = audit or MemoryAuditLog()

    def _record(self, event: AuditEvent | None) -> None:
        if event is not None:
            self.audit.record(event)


class FixedClock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class MemoryAgencies(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.agencies: dict[str, Agency] = {}
        self.keys: dict[str, ApiKey] = {}

    def create_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None:
        if agency.agency_id in self.agencies:
            raise Conflict("That agency already exists.")
        self.agencies[agency.agency_id] = agency
        self._record(event)

    def save_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None:
        if agency.agency_id not in self.agencies:
            raise Conflict("No such agency.")
        used = self.agencies[agency.agency_id].used_bytes  # only chained usage deltas move it
        self.agencies[agency.agency_id] = agency.model_copy(update={"used_bytes": used})
        self._record(event)

    def get_agency(self, agency_id: str) -> Agency | None:
        return self.agencies.get(agency_id)

    def add_usage(self, agency_id: str, delta_bytes: int) -> None:
        """The audit log's usage sink: what a chained event adds or frees."""
        agency = self.agencies[agency_id]
        self.agencies[agency_id] = agency.model_copy(update={"used_bytes": agency.used_bytes + delta_bytes})

    def create_key(self, key: ApiKey, *, event: AuditEvent | None = None) -> None:
        if key.key_hash in self.keys:
            raise Conflict("That key already exists.")
        self.keys[key.key_hash] = key
        self._record(event)

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def list_keys(self, agency_id: str) -> list[ApiKey]:
        return sorted((k for k in self.keys.values() if k.agency_id == agency_id), key=lambda k: k.key_id)

    def key_by_id(self, agency_id: str, key_id: str) -> ApiKey | None:
        return next((k for k in self.list_keys(agency_id) if k.key_id == key_id), None)

    def touch_key(self, key: ApiKey, at: datetime, *, unless_since: datetime) -> bool:
        stored = self.keys.get(key.key_hash)
        if stored is None or (stored.last_used_at is not None and stored.last_used_at >= unless_since):
            return False
        self.keys[key.key_hash] = stored.model_copy(update={"last_used_at": at})
        return True

    def revoke_key(self, key: ApiKey, *, at: datetime, by: str, event: AuditEvent,
                   keep: ApiKey | None = None) -> None:
        stored, kept = self.keys.get(key.key_hash), keep and self.keys.get(keep.key_hash)
        if stored is None or not stored.active or (keep is not None and not (kept and kept.active)):
            raise Conflict("The key, or the agency's other admin key, changed meanwhile.", code="key_changed")
        self.keys[key.key_hash] = stored.model_copy(update={"revoked_at": at, "revoked_by": by})
        self._record(event)

    def rotate_key(self, old: ApiKey, new: ApiKey, *, at: datetime, by: str, event: AuditEvent) -> None:
        stored = self.keys.get(old.key_hash)
        if stored is None or not stored.active or new.key_hash in self.keys:
            raise Conflict("The key changed meanwhile.", code="key_changed")
        self.keys[old.key_hash] = stored.model_copy(update={"revoked_at": at, "revoked_by": by})
        self.keys[new.key_hash] = new
        self._record(event)

    def list_agencies(self, *, limit: int, cursor: str | None) -> Page:
        ordered = sorted(a for a in self.agencies if cursor is None or a > cursor)
        page = ordered[:limit]
        return Page(items=[self.agencies[a] for a in page], next_cursor=page[-1] if len(ordered) > limit else None)


class MemoryLinks(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.links: dict[tuple[str, str], CitizenLink] = {}
        self.tokens: dict[str, tuple[str, str]] = {}

    def create_link(self, link: CitizenLink, token_hash: str, *, event: AuditEvent | None = None) -> None:
        if token_hash in self.tokens or (link.agency_id, link.link_id) in self.links:
            raise Conflict("That link already exists.")
        self.links[(link.agency_id, link.link_id)] = link.model_copy(deep=True)
        self.tokens[token_hash] = (link.agency_id, link.link_id)
        self._record(event)

    def save_deliveries(self, link: CitizenLink, *, event: AuditEvent | None = None) -> None:
        self.links[(link.agency_id, link.link_id)].deliveries = list(link.deliveries)
        self._record(event)

    def link_by_token_hash(self, token_hash: str) -> CitizenLink | None:
        where = self.tokens.get(token_hash)
        return self.get_link(*where) if where else None

    def get_link(self, agency_id: str, link_id: str) -> CitizenLink | None:
        found = self.links.get((agency_id, link_id))
        return found.model_copy(deep=True) if found else None


class MemorySubmissions(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.items: dict[tuple[str, str], Submission] = {}
        self.tombstones: dict[tuple[str, str], Tombstone] = {}
        self.due_queries = 0
        self.swept: date | None = None

    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None:
        found = self.items.get((agency_id, submission_id))
        return found.model_copy(deep=True) if found else None

    def open_submission(self, submission: Submission, *, event: AuditEvent | None = None) -> None:
        if (submission.agency_id, submission.submission_id) in self.items:
            raise Conflict("This submission is already open.")
        self.items[(submission.agency_id, submission.submission_id)] = submission.model_copy(deep=True)
        self._record(event)

    def add_files(self, submission: Submission, files: list[EvidenceFile]) -> None:
        stored = self.items[(submission.agency_id, submission.submission_id)]
        if stored.version != submission.version or stored.status is not SubmissionStatus.OPEN:
            raise Conflict("The files changed meanwhile; send the request again.", code="concurrent_change")
        stored.files.update({f.file_id: f for f in files})
        stored.version += 1

    def save(self, submission: Submission, fields: set[str], *, event: AuditEvent | None = None) -> Submission:
        stored = self.items.get((submission.agency_id, submission.submission_id))
        if stored is None or stored.version != submission.version:
            raise Conflict("The submission changed meanwhile; try again.", code="concurrent_change")
        for name in fields:
            setattr(stored, name, getattr(submission, name))
        stored.version += 1
        self._record(event)
        return submission.model_copy(update={"version": stored.version})

    def pending_reviews(self) -> Iterator[tuple[str, str]]:
        for (agency_id, sid), s in sorted(self.items.items()):
            if s.status is SubmissionStatus.SUBMITTED and s.review.state is ReviewState.PENDING:
                yield agency_id, sid

    def due_on(self, day: date) -> Iterator[tuple[str, str]]:
        self.due_queries += 1
        for (agency_id, sid), s in sorted(self.items.items()):
            if s.sweep_day == day:
                yield agency_id, sid

    def delete_with_tombstone(self, submission: Submission, tombstone: Tombstone, *,
                              event: AuditEvent | None = None) -> None:
        stored = self.items.get((submission.agency_id, submission.submission_id))
        if stored is None or stored.version != submission.version:
            raise Conflict("The submission changed or is gone.", code="concurrent_change")
        self.items.pop((submission.agency_id, submission.submission_id))
        self.tombstones[(submission.agency_id, submission.submission_id)] = tombstone
        self._record(event)

    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile, *,
                     event: AuditEvent | None = None) -> bool:
        stored = self.items.get((agency_id, submission_id))
        current = stored.files.get(file.file_id) if stored else None
        if stored is None or current is None or current.status is not FileStatus.AWAITING_UPLOAD:
            return False
        stored.files[file.file_id] = file
        self._record(event)
        return True

    def record_tamper(self, agency_id: str, submission_id: str, file_id: str, attempt: TamperAttempt, *,
                      event: AuditEvent | None = None) -> bool:
        file = self.items[(agency_id, submission_id)].files[file_id]
        if attempt.version_id in file.tamper_attempts:
            return False
        file.tamper_attempts[attempt.version_id] = attempt
        self._record(event)
        return True

    def list_submissions(self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None) -> Page:
        mine = sorted((s for (a, _), s in self.items.items()
                       if a == agency_id and (case_ref is None or s.case_ref == case_ref)),
                      key=lambda s: s.submission_id, reverse=True)
        if cursor:
            if not any(s.submission_id == cursor for s in mine):
                raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
            mine = [s for s in mine if s.submission_id < cursor]
        page = mine[:limit]
        more = len(mine) > limit
        return Page(items=[s.model_copy(deep=True) for s in page], next_cursor=page[-1].submission_id if more else None)

    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None:
        return self.tombstones.get((agency_id, submission_id))

    def last_swept_day(self) -> date | None:
        return self.swept

    def set_last_swept_day(self, day: date) -> None:
        self.swept = day


class MemoryHolds(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.holds: dict[tuple[str, str], Hold] = {}

    def place_hold(self, hold: Hold, *, event: AuditEvent | None = None) -> bool:
        if (hold.agency_id, hold.case_ref) in self.holds:
            return False
        self.holds[(hold.agency_id, hold.case_ref)] = hold
        self._record(event)
        return True

    def release_hold(self, agency_id: str, case_ref: str, *, event: AuditEvent | None = None) -> bool:
        if self.holds.pop((agency_id, case_ref), None) is None:
            return False
        self._record(event)
        return True

    def case_hold(self, agency_id: str, case_ref: str) -> Hold | None:
        return self.holds.get((agency_id, case_ref))


class MemoryAccessRequests(Recorder):
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.requests: dict[str, AccessRequest] = {}
        self.fingerprints: dict[str, str] = {}

    def create(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        if request.fingerprint in self.fingerprints:
            raise Conflict("A request from this organisation is already on file.", code="duplicate_request")
        self.requests[request.request_id] = request
        self.fingerprints[request.fingerprint] = request.request_id
        self._record(event)

    def get(self, request_id: str) -> AccessRequest | None:
        return self.requests.get(request_id)

    def decide(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        if self.requests[request.request_id].status is not RequestStatus.PENDING:
            raise Conflict("This request was already decided.", code="already_decided")
        self.requests[request.request_id] = request
        if request.status is RequestStatus.DENIED:
            self.fingerprints.pop(request.fingerprint, None)
        self._record(event)

    def attach_agency(self, request_id: str, agency_id: str, *, event: AuditEvent | None = None) -> None:
        self.requests[request_id] = self.requests[request_id].model_copy(update={"agency_id": agency_id})
        self._record(event)

    def list(self, status: RequestStatus, *, limit: int, cursor: str | None) -> Page:
        matching = sorted((r for r in self.requests.values() if r.status is status), key=lambda r: r.request_id)
        if cursor:
            matching = [r for r in matching if r.request_id > cursor]
        page = matching[:limit]
        return Page(items=page, next_cursor=page[-1].request_id if len(matching) > limit else None)


class MemoryShares(Recorder):
    """Shares by (owner, id); the recipient's lookup checks the recipient, as the index does."""

    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        super().__init__(audit)
        self.shares: dict[tuple[str, str], Share] = {}

    def _record_all(self, events: list[AuditEvent]) -> None:
        for event in events:
            self._record(event)

    def create_share(self, share: Share, *, events: list[AuditEvent]) -> None:
        if (share.owner_agency_id, share.share_id) in self.shares:
            raise Conflict("That share already exists.")
        self.shares[(share.owner_agency_id, share.share_id)] = share
        self._record_all(events)

    def get_share(self, owner_agency_id: str, share_id: str) -> Share | None:
        return self.shares.get((owner_agency_id, share_id))

    def shared_with(self, recipient_agency_id: str, share_id: str) -> Share | None:
        return next((s for (_, sid), s in self.shares.items()
                     if sid == share_id and s.recipient_agency_id == recipient_agency_id), None)

    def revoke_share(self, share: Share, *, events: list[AuditEvent]) -> None:
        stored = self.shares.get((share.owner_agency_id, share.share_id))
        if stored is None or stored.revoked_at is not None:
            raise Conflict("The share was already revoked.", code="already_revoked")
        self.shares[(share.owner_agency_id, share.share_id)] = stored.model_copy(
            update={"revoked_at": share.revoked_at, "revoked_by": share.revoked_by})
        self._record_all(events)

    def record_view(self, share: Share, *, events: list[AuditEvent]) -> None:
        stored = self.shares.get((share.owner_agency_id, share.share_id))
        if stored is None or stored.revoked_at is not None:
            raise Conflict("The share was revoked.", code="share_revoked")
        self._record_all(events)

    def list_outgoing(self, owner_agency_id: str, *, limit: int, cursor: str | None) -> Page:
        return self._page([s for (o, _), s in self.shares.items() if o == owner_agency_id], limit, cursor)

    def list_incoming(self, recipient_agency_id: str, *, limit: int, cursor: str | None) -> Page:
        return self._page([s for s in self.shares.values() if s.recipient_agency_id == recipient_agency_id],
                          limit, cursor)

    @staticmethod
    def _page(found: list[Share], limit: int, cursor: str | None) -> Page:
        if cursor is not None and not any(s.share_id == cursor for s in found):
            raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
        newest = sorted((s for s in found if cursor is None or s.share_id < cursor),
                        key=lambda s: s.share_id, reverse=True)
        page = newest[:limit]
        return Page(items=page, next_cursor=page[-1].share_id if len(newest) > limit else None)


class MemoryBlobs:
    """A versioned bucket in a dict. `put` stands in for the browser's POST to S3 and returns the
    new version's id; `objects` holds the latest version of each key."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.versions: dict[str, dict[str, tuple[bytes, str]]] = {}
        self.signed: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}  # multipart, by upload id
        self.calls: list[str] = []

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        version_id = f"v{sum(len(v) for v in self.versions.values()) + 1}"
        self.versions.setdefault(key, {})[version_id] = (data, content_type)
        self.objects[key] = (data, content_type)
        return version_id

    def _get(self, key: str, version_id: str | None) -> tuple[bytes, str] | None:
        if version_id is None:
            return self.objects.get(key)
        return self.versions.get(key, {}).get(version_id)

    def _latest_version(self, key: str) -> str | None:
        return next(reversed(self.versions[key])) if self.versions.get(key) else None

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime, sha256_b64: str | None = None) -> PresignedPost:
        self.signed.append({"key": key, "content_type": content_type, "size": size}
                           | ({"sha256": sha256_b64} if sha256_b64 else {}))
        fields = {"key": key, "Content-Type": content_type}
        if sha256_b64:
            fields["x-amz-checksum-sha256"] = sha256_b64
        return PresignedPost(url="https://uploads.example/", fields=fields, expires_at=now + expires_in)

    # --- multipart: `put_part` stands in for the browser's PUT of one part -----------------

    def start_multipart(self, key: str, *, content_type: str) -> str:
        self.calls.append("start_multipart")
        upload_id = f"mpu{len(self.uploads) + 1}"
        self.uploads[upload_id] = {"key": key, "content_type": content_type, "parts": {}, "state": "open"}
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, *, expires_in: timedelta,
                     sha256_b64: str | None = None) -> str:
        assert self.uploads[upload_id]["key"] == key
        checksum = f"&checksum={sha256_b64}" if sha256_b64 else ""
        return f"https://uploads.example/{key}?uploadId={upload_id}&partNumber={number}{checksum}"

    def put_part(self, upload_id: str, number: int, data: bytes, at: datetime = START) -> str:
        etag = hashlib.md5(data).hexdigest()
        self.uploads[upload_id]["parts"][number] = (data, etag, at)
        return etag

    def list_parts(self, key: str, upload_id: str) -> list[Part] | None:
        upload = self.uploads.get(upload_id)
        if upload is None or upload["state"] != "open" or upload["key"] != key:
            return None
        return [Part(number=n, size=len(data), etag=etag, last_modified=at)
                for n, (data, etag, at) in sorted(upload["parts"].items())]

    def complete_multipart(self, key: str, upload_id: str, parts: list[Part]) -> None:
        self.calls.append("complete_multipart")
        upload = self.uploads[upload_id]
        assert upload["state"] == "open" and upload["key"] == key
        upload["state"] = "completed"
        self.put(key, b"".join(upload["parts"][p.number][0] for p in parts), upload["content_type"])

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self.calls.append("abort_multipart")
        if upload_id in self.uploads:
            self.uploads[upload_id]["state"] = "aborted"

    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        for upload_id, upload in list(self.uploads.items()):
            if upload["state"] == "open" and upload["key"].startswith(prefix):
                yield PendingUpload(key=upload["key"], upload_id=upload_id, initiated=START)

    def presign_download(self, key: str, *, filename: str, expires_in: timedelta,
                         version_id: str | None = None) -> str:
        pinned = f"&versionId={version_id}" if version_id else ""
        return f"https://downloads.example/{key}?expires={int(expires_in.total_seconds())}{pinned}"

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        found = self._get(key, version_id)
        if found is None:
            return None
        data, content_type = found
        return ObjectInfo(size=len(data), etag=hashlib.md5(data).hexdigest(), content_type=content_type,
                          version_id=version_id or self._latest_version(key))

    def read_head(self, key: str, length: int, version_id: str | None = None) -> bytes:
        found = self._get(key, version_id)
        assert found is not None
        return found[0][:length]

    def iter_chunks(self, key: str, version_id: str | None = None) -> Iterator[bytes]:
        found = self._get(key, version_id)
        assert found is not None
        for start in range(0, len(found[0]), 4096):
            yield found[0][start:start + 4096]

    def delete_all_versions(self, key: str) -> int:
        self.objects.pop(key, None)
        return len(self.versions.pop(key, {}))


class RecordingSms:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def send_sms(self, phone: str, text: str) -> str:
        if self.fail:
            raise DeliveryFailed("SMS not sent: the number has opted out")
        self.sent.append((phone, text))
        return f"sms-{len(self.sent)}"


class RecordingEmail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, to: str, subject: str, text: str) -> str:
        self.sent.append((to, subject, text))
        return f"email-{len(self.sent)}"


def make_deps(clock: FixedClock | None = None, **overrides: Any) -> Deps:
    audit = overrides.pop("audit", None) or MemoryAuditLog()
    agencies = MemoryAgencies(audit)
    audit.usage = agencies.add_usage
    submissions = overrides.pop("submissions", None) or MemorySubmissions(audit)
    parts: dict[str, Any] = dict(
        clock=clock or FixedClock(), agencies=agencies, links=MemoryLinks(audit), submissions=submissions,
        holds=MemoryHolds(audit), access_requests=MemoryAccessRequests(audit), shares=MemoryShares(audit),
        licenses=MemoryLicenses(audit=audit), audit=audit,
        blobs=MemoryBlobs(), sms=RecordingSms(),
        email=RecordingEmail(), max_upload_bytes=100 * 1024 * 1024, program=MemoryProgram(audit),
        portals=MemoryPortals(audit), counters=MemoryRateCounter(),
        program_notices=MemoryProgramNotices(audit),
    )
    parts.update(overrides)
    return Deps(**parts)
