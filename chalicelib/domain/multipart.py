"""Rules of a resumable (S3 multipart) upload: how a large file is cut into parts, which part
numbers exist, when the parts S3 holds make the whole file, and when an upload counts as abandoned.

S3's own limits: at most 10,000 parts, each at least 5 MiB except the last, at most 5 GiB."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import Conflict, InvalidInput
from .models import EvidenceFile, FileStatus

MIB = 1024 * 1024
MAX_PARTS = 10_000
MIN_PART = 5 * MIB
MAX_PART = 5 * 1024 * MIB
SINGLE_POST_MAX = 5 * 10**9  # a presigned POST carries at most 5 GB
# A declared file that has not arrived, with no part added for this long, no longer holds a slot
# of its link; the schedule aborts its multipart upload. Longer than any URL we sign (15 minutes),
# so nothing still signed can land on a file already counted out.
ABANDON_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Part:
    """A part S3 holds for an upload."""

    number: int
    size: int
    etag: str
    last_modified: datetime | None = None
    sha256: str | None = None  # base64, the checksum S3 checked for it


def part_size(size: int, preferred: int) -> int:
    """The part size for a file: the preferred one, raised (in whole MiB) as far as needed for the
    file to fit in 10,000 parts."""
    needed = -(-size // MAX_PARTS)  # ceil
    chosen = max(preferred, MIN_PART, -(-needed // MIB) * MIB)
    if chosen > MAX_PART:
        raise InvalidInput("The file is too large to upload.", code="file_too_large")
    return chosen


def parts_total(size: int, size_of_part: int) -> int:
    return max(1, -(-size // size_of_part))


def check_part_number(number: int, file: EvidenceFile) -> None:
    total = parts_total(file.size, file.part_size or file.size)
    if not 1 <= number <= total:
        raise InvalidInput(f"Part {number} is out of range: this file has parts 1 to {total}.",
                           code="part_out_of_range", details={"parts_total": total})


def expected_size(number: int, file: EvidenceFile) -> int:
    step = file.part_size or file.size
    return min(step, file.size - (number - 1) * step)


def completion(file: EvidenceFile, held: Iterable[Part], claimed: dict[int, str] | None) -> list[Part]:
    """The parts to complete with, in order: every part from 1 to the last, each of its expected
    size. `claimed` (part number -> ETag, from the page) must name exactly what S3 holds."""
    by_number = {p.number: p for p in held}
    total = parts_total(file.size, file.part_size or file.size)
    missing = [n for n in range(1, total + 1) if n not in by_number]
    if missing:
        raise Conflict(f"{len(missing)} part(s) have not arrived yet.", code="parts_missing",
                       details={"missing": missing[:100]})
    wrong = [n for n in range(1, total + 1) if by_number[n].size != expected_size(n, file)]
    if wrong:
        raise Conflict("Some parts have the wrong size; send them again.", code="parts_wrong_size",
                       details={"parts": wrong[:100]})
    for number, etag in (claimed or {}).items():
        check_part_number(number, file)
        if by_number[number].etag.strip('"') != etag.strip('"'):
            raise InvalidInput(f"Part {number} is not the part this upload holds.", code="part_mismatch",
                               details={"part_number": number})
    return [by_number[n] for n in range(1, total + 1)]


def is_abandoned(file: EvidenceFile, now: datetime, last_activity: datetime | None = None) -> bool:
    """A file given up: marked so, or still awaited long after it was declared (or, for a
    multipart upload, after its last part)."""
    if file.status is FileStatus.ABANDONED:
        return True
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return False
    return now >= max(file.declared_at, last_activity or file.declared_at) + ABANDON_AFTER


def holds_slot(file: EvidenceFile, now: datetime) -> bool:
    """Whether a declared file counts against its link's file limit. A multipart upload keeps its
    slot until the schedule has looked at its parts and marked it abandoned."""
    if file.upload_id and file.status is FileStatus.AWAITING_UPLOAD:
        return True
    return not is_abandoned(file, now)
