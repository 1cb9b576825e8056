"""The one place that builds settings, AWS clients and adapters: lazily, once per container.
Tests call `use(deps)` to swap in fakes; nothing here runs at import time."""
from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .services.deps import Deps

if TYPE_CHECKING:
    from .services.exports import ExportDeps
    from .services.program_extraction import ProgramDeps

_override: Deps | None = None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings(os.environ)


_client_lock = threading.Lock()  # a boto3 Session may not create clients from two threads at once


@lru_cache(maxsize=1)
def _session() -> Any:
    import boto3  # deferred: keeps the import of app.py light

    # One session for every client: each new Session re-reads botocore's endpoint and service
    # lists from disk, which was most of a cold start's client cost.
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    if service == "s3-public":  # what browsers call: S3 itself, unless they reach it elsewhere (a local relay)
        public = settings().s3_public_endpoint_url
        return _new_client("s3", endpoint_url=public) if public else client("s3")
    return _new_client(service)


def _new_client(service: str, **extra: Any) -> Any:
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 4}}
    if service == "s3":
        # Virtual-host URLs on AWS; path style for a local endpoint, which has no bucket subdomains.
        style = "path" if settings().aws_endpoint_url else "virtual"
        options |= {"signature_version": "s3v4", "s3": {"addressing_style": style}}
    with _client_lock:
        return _session().client(service, config=Config(**options), **extra)


class _LazyClient:
    """Stands in for `client(service)` until first used: a route that never texts or stores a file
    does not pay for loading SNS's, SES's or S3's service models on a cold start."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self._service), name)


class _LazyAdapter:
    """Stands in for a port's adapter until a use case first touches it, then builds it (importing its
    module then): a route builds only the adapters it uses, and a cold start imports no other."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            self._built = self._build()
        return getattr(self._built, name)


def _adapters(module: str) -> Any:
    return importlib.import_module(f"{__package__}.adapters.{module}")


@lru_cache(maxsize=1)
def _aws_deps() -> Deps:
    cfg, db = settings(), client("dynamodb")
    main, inbox = cfg.table_name, cfg.audit_inbox_table_name  # every write carries its audit event into the inbox
    a = _adapters
    ports: dict[str, Callable[[], Any]] = dict(
        clock=lambda: a("clock").SystemClock(), agencies=lambda: a("dynamo_agencies").DynamoAgencies(db, main, inbox),
        links=lambda: a("dynamo_links").DynamoLinks(db, main, inbox),
        submissions=lambda: a("dynamo_submissions").DynamoSubmissions(db, main, inbox),
        audit=lambda: a("dynamo_audit").DynamoAuditLog(db, cfg.audit_table_name, inbox, main),
        holds=lambda: a("dynamo_holds").DynamoHolds(db, main, inbox),
        access_requests=lambda: a("dynamo_access_requests").DynamoAccessRequests(db, main, inbox),
        licenses=lambda: a("dynamo_licenses").DynamoLicenses(db, main, inbox),
        shares=lambda: a("dynamo_shares").DynamoShares(db, main, inbox),
        blobs=lambda: a("s3_blobs").S3BlobStore(_LazyClient("s3"), cfg.evidence_bucket,
                                                presigner=_LazyClient("s3-public")),
        sms=lambda: a("messaging").SnsSms(_LazyClient("sns")),
        email=lambda: a("messaging").SesEmail(_LazyClient("ses"), cfg.email_sender),
        program=lambda: a("dynamo_program").DynamoProgram(db, main, inbox),
        portals=lambda: a("dynamo_portals").DynamoPortals(db, main, inbox),
        counters=lambda: a("dynamo_limits").DynamoRateCounter(db, main),
        program_notices=lambda: a("dynamo_program_notices").DynamoProgramNotices(db, main, inbox),
    )
    return Deps(**{port: _LazyAdapter(build) for port, build in ports.items()},
                multipart_threshold=cfg.multipart_threshold, part_bytes=cfg.part_bytes,
                max_upload_bytes=cfg.max_upload_bytes, rate_caps=cfg.rate_caps())


@lru_cache(maxsize=1)
def export_deps() -> ExportDeps:
    from .adapters.dynamo_exports import DynamoExports
    from .adapters.s3_exports import S3ExportStorage, SqsJobQueue
    from .services.exports import ExportDeps

    cfg, base, sqs = settings(), deps(), client("sqs")
    queue_url = sqs.get_queue_url(QueueName=cfg.export_queue_name)["QueueUrl"]
    exports_repo = DynamoExports(client("dynamodb"), cfg.table_name, cfg.audit_inbox_table_name)
    return ExportDeps(clock=base.clock, exports=exports_repo,
                      submissions=base.submissions, audit=base.audit,
                      storage=S3ExportStorage(client("s3"), cfg.evidence_bucket),
                      queue=SqsJobQueue(sqs, queue_url), evidence_bucket=cfg.evidence_bucket,
                      shares=base.shares)


_program_override: ProgramDeps | None = None


def program_deps() -> ProgramDeps:
    """The improvement program's part 2: its own table, bucket and receipt-signing key."""
    return _program_override or _aws_program_deps()


def use_program(replacement: ProgramDeps | None) -> None:
    """Swap the program's part-2 dependencies (tests); None goes back to the AWS ones."""
    global _program_override
    _program_override = replacement


@lru_cache(maxsize=1)
def _aws_program_deps() -> ProgramDeps:
    from .adapters.dynamo_program_store import DynamoProgramStore
    from .adapters.kms_signer import KmsSigner
    from .adapters.s3_program import S3ProgramMedia
    from .config import ConfigError
    from .services.program_extraction import ProgramDeps

    cfg = settings()
    if not (cfg.program_table_name and cfg.program_bucket and cfg.receipt_signing_key):
        raise ConfigError("bad configuration: PROGRAM_TABLE_NAME, PROGRAM_BUCKET and RECEIPT_SIGNING_KEY are needed")
    store = DynamoProgramStore(client("dynamodb"), cfg.program_table_name, cfg.audit_inbox_table_name, cfg.table_name)
    return ProgramDeps(base=deps(), store=store, media=S3ProgramMedia(_LazyClient("s3"), cfg.program_bucket),
                       signer=KmsSigner(_LazyClient("kms"), cfg.receipt_signing_key))


def deps() -> Deps:
    return _override or _aws_deps()


def use(replacement: Deps | None) -> None:
    """Swap the dependencies (tests); None goes back to the AWS ones."""
    global _override
    _override = replacement


@lru_cache(maxsize=1)
def upload_origin() -> str:
    from .adapters.s3_blobs import S3BlobStore

    return S3BlobStore(client("s3"), settings().evidence_bucket, presigner=client("s3-public")).upload_origin()
