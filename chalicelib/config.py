"""Settings read from the environment once per container. A missing or bad value fails the
cold start with one message naming every problem, instead of failing later mid-request."""
from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .domain.limits import Cap, RateCaps

GIB = 1024**3
MIB = 1024**2


class ConfigError(RuntimeError):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use, not at import

    stage: str = Field(alias="APP_STAGE")
    table_name: str = Field(alias="TABLE_NAME")
    audit_table_name: str = Field(alias="AUDIT_TABLE_NAME")
    audit_inbox_table_name: str = Field(alias="AUDIT_INBOX_TABLE_NAME")
    evidence_bucket: str = Field(alias="EVIDENCE_BUCKET")
    export_queue_name: str = Field(alias="EXPORT_QUEUE_NAME")
    # Where citizen links point. Unset on API Gateway: the link is built from the request's host and stage.
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL", pattern=r"^https?://")
    email_sender: str = Field(alias="EMAIL_SENDER")
    # Files above the threshold go to S3 as multipart uploads (resumable, 10,000 parts at most).
    max_upload_bytes: int = Field(default=50 * GIB, alias="MAX_UPLOAD_BYTES", gt=0, le=50 * GIB)
    multipart_threshold: int = Field(default=100 * MIB, alias="MULTIPART_THRESHOLD_BYTES", ge=5 * MIB,
                                     le=5 * 10**9)
    part_bytes: int = Field(default=16 * MIB, alias="MULTIPART_PART_BYTES", ge=5 * MIB, le=5 * GIB)
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    # The improvement program's own table, bucket and receipt-signing key (issue 11); only the
    # program's functions need them (bootstrap.program_deps refuses to run without them).
    program_table_name: str | None = Field(default=None, alias="PROGRAM_TABLE_NAME")
    program_bucket: str | None = Field(default=None, alias="PROGRAM_BUCKET")
    receipt_signing_key: str | None = Field(default=None, alias="RECEIPT_SIGNING_KEY")
    # Rate limits of the public routes, per client address (portals carry their own caps).
    access_requests_per_hour: int = Field(default=10, alias="RATE_ACCESS_REQUESTS_PER_HOUR", ge=1)
    citizen_reads_per_minute: int = Field(default=120, alias="RATE_CITIZEN_READS_PER_MINUTE", ge=1)
    citizen_writes_per_minute: int = Field(default=60, alias="RATE_CITIZEN_WRITES_PER_MINUTE", ge=1)
    citizen_parts_per_minute: int = Field(default=600, alias="RATE_CITIZEN_PARTS_PER_MINUTE", ge=1)
    portal_pages_per_minute: int = Field(default=120, alias="RATE_PORTAL_PAGES_PER_MINUTE", ge=1)
    portal_sms_per_hour: int = Field(default=5, alias="RATE_PORTAL_SMS_PER_HOUR", ge=1)
    # Multiplies the caps above: the local stack sets it high, as its tests and benches all come from 127.0.0.1.
    rate_limit_scale: int = Field(default=1, alias="RATE_LIMIT_SCALE", ge=1, le=1_000_000)

    def rate_caps(self) -> RateCaps:
        return RateCaps(access_requests=Cap(limit=self.access_requests_per_hour, seconds=3600),
                        citizen_reads=Cap(limit=self.citizen_reads_per_minute, seconds=60),
                        citizen_writes=Cap(limit=self.citizen_writes_per_minute, seconds=60),
                        citizen_parts=Cap(limit=self.citizen_parts_per_minute, seconds=60),
                        portal_pages=Cap(limit=self.portal_pages_per_minute, seconds=60),
                        portal_sms=Cap(limit=self.portal_sms_per_hour, seconds=3600)).scaled(self.rate_limit_scale)
    # Local only: where browsers reach S3 when it differs from ours (a test relay in front of moto).
    s3_public_endpoint_url: str | None = Field(default=None, alias="S3_PUBLIC_ENDPOINT_URL")

    @model_validator(mode="after")
    def local_stage_never_reaches_real_aws(self) -> "Settings":
        if self.stage == "local" and not self.aws_endpoint_url:
            raise ValueError("APP_STAGE=local needs AWS_ENDPOINT_URL (start the stack with `./dev start`)")
        return self


def load_settings(environ: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(dict(environ))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"bad configuration: {problems}") from None
