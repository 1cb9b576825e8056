"""Settings read from the environment once per container. A missing or bad value fails the
cold start with one message naming every problem, instead of failing later mid-request."""
from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

GIB = 1024**3


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
    # A single presigned POST can carry at most 5 GB; larger video needs multipart (portals).
    max_upload_bytes: int = Field(default=4 * GIB, alias="MAX_UPLOAD_BYTES", gt=0, le=5 * 10**9)
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

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
