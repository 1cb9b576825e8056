"""Settings read from the environment once per container. A missing or bad value fails the
cold start with one message naming every problem, instead of failing later mid-request.

A plain dataclass read by hand, not a pydantic model: every cold start reads it, and building a
schema for a few dozen environment variables cost more than the rest of the citizen's request did."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .domain.limits import Cap, RateCaps

GIB = 1024**3
MIB = 1024**2


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    audit_table_name: str
    audit_inbox_table_name: str
    evidence_bucket: str
    export_queue_name: str
    email_sender: str
    # Where citizen links point. Unset on API Gateway: the link is built from the request's host and stage.
    public_base_url: str | None = None
    # Files above the threshold go to S3 as multipart uploads (resumable, 10,000 parts at most).
    max_upload_bytes: int = 50 * GIB
    multipart_threshold: int = 100 * MIB
    part_bytes: int = 16 * MIB
    aws_endpoint_url: str | None = None
    # The improvement program's own table, bucket and receipt-signing key (issue 11); only the
    # program's functions need them (bootstrap.program_deps refuses to run without them).
    program_table_name: str | None = None
    program_bucket: str | None = None
    receipt_signing_key: str | None = None
    # Rate limits of the public routes, per client address (portals carry their own caps).
    access_requests_per_hour: int = 10
    citizen_reads_per_minute: int = 120
    citizen_writes_per_minute: int = 60
    citizen_parts_per_minute: int = 600
    portal_pages_per_minute: int = 120
    portal_sms_per_hour: int = 5
    # Multiplies the caps above: the local stack sets it high, as its tests and benches all come from 127.0.0.1.
    rate_limit_scale: int = 1
    # Local only: where browsers reach S3 when it differs from ours (a test relay in front of moto).
    s3_public_endpoint_url: str | None = None

    def rate_caps(self) -> RateCaps:
        return RateCaps(access_requests=Cap(limit=self.access_requests_per_hour, seconds=3600),
                        citizen_reads=Cap(limit=self.citizen_reads_per_minute, seconds=60),
                        citizen_writes=Cap(limit=self.citizen_writes_per_minute, seconds=60),
                        citizen_parts=Cap(limit=self.citizen_parts_per_minute, seconds=60),
                        portal_pages=Cap(limit=self.portal_pages_per_minute, seconds=60),
                        portal_sms=Cap(limit=self.portal_sms_per_hour, seconds=3600)).scaled(self.rate_limit_scale)


# Each setting: its variable, and for a number its default and bounds (inclusive).
REQUIRED = {"stage": "APP_STAGE", "table_name": "TABLE_NAME", "audit_table_name": "AUDIT_TABLE_NAME",
            "audit_inbox_table_name": "AUDIT_INBOX_TABLE_NAME", "evidence_bucket": "EVIDENCE_BUCKET",
            "export_queue_name": "EXPORT_QUEUE_NAME", "email_sender": "EMAIL_SENDER"}
OPTIONAL = {"public_base_url": "PUBLIC_BASE_URL", "aws_endpoint_url": "AWS_ENDPOINT_URL",
            "program_table_name": "PROGRAM_TABLE_NAME", "program_bucket": "PROGRAM_BUCKET",
            "receipt_signing_key": "RECEIPT_SIGNING_KEY", "s3_public_endpoint_url": "S3_PUBLIC_ENDPOINT_URL"}
NUMBERS: dict[str, tuple[str, int, int]] = {
    "max_upload_bytes": ("MAX_UPLOAD_BYTES", 1, 50 * GIB),
    "multipart_threshold": ("MULTIPART_THRESHOLD_BYTES", 5 * MIB, 5 * 10**9),
    "part_bytes": ("MULTIPART_PART_BYTES", 5 * MIB, 5 * GIB),
    "access_requests_per_hour": ("RATE_ACCESS_REQUESTS_PER_HOUR", 1, 10**9),
    "citizen_reads_per_minute": ("RATE_CITIZEN_READS_PER_MINUTE", 1, 10**9),
    "citizen_writes_per_minute": ("RATE_CITIZEN_WRITES_PER_MINUTE", 1, 10**9),
    "citizen_parts_per_minute": ("RATE_CITIZEN_PARTS_PER_MINUTE", 1, 10**9),
    "portal_pages_per_minute": ("RATE_PORTAL_PAGES_PER_MINUTE", 1, 10**9),
    "portal_sms_per_hour": ("RATE_PORTAL_SMS_PER_HOUR", 1, 10**9),
    "rate_limit_scale": ("RATE_LIMIT_SCALE", 1, 1_000_000),
}
URL = re.compile(r"^https?://")


def load_settings(environ: Mapping[str, str]) -> Settings:
    numbers = {field: _whole(environ[name], low, high) for field, (name, low, high) in NUMBERS.items()
               if name in environ}
    problems = [f"{name}: required" for name in REQUIRED.values() if name not in environ]
    # `+=`, not append: tests/unit/test_least_privilege.py reads a method call on a list as a call to
    # any method of that name (an audit log's `append` among them) and this runs in every Lambda.
    problems += [f"{NUMBERS[field][0]}: a whole number from {NUMBERS[field][1]} to {NUMBERS[field][2]}, "
                 f"not {environ[NUMBERS[field][0]]!r}" for field, number in numbers.items() if number is None]
    if not URL.match(environ.get("PUBLIC_BASE_URL", "https://")):
        problems += ["PUBLIC_BASE_URL: must start with http:// or https://"]
    if environ.get("APP_STAGE") == "local" and not environ.get("AWS_ENDPOINT_URL"):
        problems += ["APP_STAGE=local needs AWS_ENDPOINT_URL (start the stack with `./dev start`)"]
    if problems:
        raise ConfigError(f"bad configuration: {'; '.join(problems)}")
    strings = {field: environ[name] for field, name in (REQUIRED | OPTIONAL).items() if name in environ}
    return Settings(**strings, **numbers)  # type: ignore[arg-type]


def _whole(raw: str, low: int, high: int) -> int | None:
    """A whole number within [low, high], or None. ASCII digits only: "²".isdigit() is true."""
    text = raw.strip()
    number = int(text) if text.isascii() and text.isdigit() else None
    return number if number is not None and low <= number <= high else None
