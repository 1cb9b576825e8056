"""How records appear in API responses: what an agency sees, and nothing it should not."""
from __future__ import annotations

from typing import Any

from .domain.models import CitizenLink, EvidenceFile, Submission
from .domain.ports import PresignedPost


def link_view(link: CitizenLink) -> dict[str, Any]:
    return link.model_dump(mode="json", exclude={"agency_id"})


def file_view(file: EvidenceFile) -> dict[str, Any]:
    return file.model_dump(mode="json", include={"file_id", "name", "size", "content_type", "caption"})


def submission_view(submission: Submission, download_urls: dict[str, str] | None = None) -> dict[str, Any]:
    data = submission.model_dump(mode="json", exclude={"agency_id", "files", "version"})
    files = sorted(submission.files.values(), key=lambda f: f.file_id)
    data["files"] = [
        f.model_dump(mode="json", exclude={"key"}) | ({"download_url": download_urls[f.file_id]}
                                                      if download_urls and f.file_id in download_urls else {})
        for f in files
    ]
    return data


def capture_view(capture: Submission, signed: list[tuple[EvidenceFile, PresignedPost]]) -> dict[str, Any]:
    """A capture and one upload form per file it signed (the form is bound to that file's key)."""
    return {"capture_id": capture.submission_id, "case_ref": capture.case_ref, "origin": capture.origin.value,
            "status": capture.status.value,
            "files": [file_view(f) | {"upload": post.model_dump(mode="json")} for f, post in signed]}
