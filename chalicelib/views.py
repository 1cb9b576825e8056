"""How records appear in API responses: what an agency sees, and nothing it should not. Each view is
a model (the record with the fields it must not show excluded, or the few it shows): the handlers
build their bodies with it and the OpenAPI document states it, so the two cannot differ."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .domain.models import (
    CitizenLink,
    EvidenceFile,
    FileStatus,
    Listing,
    Origin,
    RejectCode,
    Review,
    Submission,
    SubmissionStatus,
)
from .domain.ports import PresignedPost
from .services.resumable import MultipartOffer

_SHOWN = ConfigDict(from_attributes=True)  # a view is read off its record


def _absent(value: Any) -> bool:
    """For `exclude_if`: a field left out of the answer when it has nothing to say."""
    return value is None


class LinkView(CitizenLink):
    model_config = _SHOWN
    agency_id: str = Field(exclude=True)


class CreatedLink(LinkView):
    url: str  # the citizen's page, as sent


class FileView(BaseModel):
    """A declared file: what the page and the officer named, before anything arrived."""

    model_config = ConfigDict(defer_build=True, from_attributes=True)
    file_id: str
    name: str
    size: int
    content_type: str
    caption: str | None = None


class SubmissionFile(EvidenceFile):
    """A file of a submission (never its storage key); with a download URL where one was signed."""

    model_config = _SHOWN
    key: str = Field(exclude=True)
    download_url: str | None = Field(default=None, exclude_if=_absent)


class SubmissionView(Submission):
    model_config = _SHOWN
    agency_id: str = Field(exclude=True)
    version: int = Field(default=0, exclude=True)
    files: list[SubmissionFile]  # type: ignore[assignment]  # in file id order, not keyed


class SubmissionWithDownloads(SubmissionView):
    expires_in: int  # seconds the download URLs work


class CompletedCapture(SubmissionView):
    capture_id: str  # the submission's id, under the name the capture routes use


class SubmissionList(Listing):
    items: list[SubmissionView]


class CaptureFile(FileView):
    upload: PresignedPost  # the form bound to this file's key


class CaptureView(BaseModel):
    """A capture and one upload form per file it signed."""

    model_config = ConfigDict(defer_build=True)
    capture_id: str
    case_ref: str
    origin: Origin
    status: SubmissionStatus
    files: list[CaptureFile]


V = TypeVar("V", bound=SubmissionView)


class UploadSlot(FileView):
    """Where a declared file goes: a presigned POST (url, fields, expires_at), or for a large file the
    multipart offer (its parts are signed on demand)."""

    url: str | None = Field(default=None, exclude_if=_absent)
    fields: dict[str, str] | None = Field(default=None, exclude_if=_absent)
    expires_at: datetime | None = Field(default=None, exclude_if=_absent)
    multipart: MultipartOffer | None = Field(default=None, exclude_if=_absent)


class UploadsSigned(BaseModel):
    model_config = ConfigDict(defer_build=True)
    submission_id: str
    uploads: list[UploadSlot]


class FileVerdict(BaseModel):
    """The server's verdict on a citizen's file: awaiting, verified, rejected (with a code the page
    translates) or abandoned."""

    model_config = ConfigDict(defer_build=True, from_attributes=True)
    file_id: str
    name: str
    size: int
    status: FileStatus
    reject_code: RejectCode | None
    sha256: str | None


class FileVerdicts(BaseModel):
    model_config = ConfigDict(defer_build=True)
    files: list[FileVerdict]


class SharedBy(BaseModel):
    model_config = ConfigDict(defer_build=True)
    agency_id: str
    name: str


class _Shared(BaseModel):
    """What every shared item says: who shared it, through which share; origin is `shared`."""

    model_config = ConfigDict(defer_build=True)
    shared_by: SharedBy
    share_id: str
    origin: Origin
    deleted: bool
    expires_in: int | None = Field(default=None, exclude_if=_absent)  # one item: seconds its URLs work


class SharedSubmission(_Shared, SubmissionView):
    """Another agency's submission: the evidence and its facts, not the owner's workflow (review,
    retention, holds, the requesting key, the link)."""

    review: Review = Field(default_factory=Review, exclude=True)
    requested_by: str | None = Field(default=None, exclude=True)
    legal_hold: bool = Field(default=False, exclude=True)
    retain_until: datetime | None = Field(default=None, exclude=True)
    sweep_day: date | None = Field(default=None, exclude=True)
    link_id: str = Field(exclude=True)
    original_origin: Origin


class DeletedFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    file_id: str | None
    name: str | None
    sha256: str | None


class DeletedShared(_Shared):
    """A shared submission the owner's retention deleted: what its tombstone proves."""

    submission_id: str
    case_ref: str
    deleted_at: datetime
    deleted_by_rule: str
    files: list[DeletedFile]
    original_origin: None


class SharedItems(Listing):
    items: list[SharedSubmission | DeletedShared]




def submission_model(submission: Submission, download_urls: dict[str, str] | None = None, *,
                     view: type[V] = SubmissionView, **extra: Any) -> V:  # type: ignore[assignment]
    """The submission as `view` shows it (SubmissionView or one that adds `extra` fields)."""
    urls = download_urls or {}
    files = [SubmissionFile.model_validate(f.model_dump() | {"download_url": urls.get(f.file_id)})
             for f in sorted(submission.files.values(), key=lambda f: f.file_id)]
    return view.model_validate(submission.model_dump(exclude={"files"}) | {"files": files} | extra)


def capture_view(capture: Submission, signed: list[tuple[EvidenceFile, PresignedPost]]) -> CaptureView:
    """A capture and one upload form per file it signed (the form is bound to that file's key)."""
    return CaptureView(capture_id=capture.submission_id, case_ref=capture.case_ref, origin=capture.origin,
                       status=capture.status,
                       files=[CaptureFile.model_validate(f.model_dump() | {"upload": post}) for f, post in signed])
