"""The Lambda entry points: the API (routes live in chalicelib/api/), the upload event handler,
the export worker and the schedules. Each handler parses its input, calls one service and shapes
the response; the rules live in chalicelib/domain, the use cases in chalicelib/services."""
from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Cron, Rate, Response

from chalicelib import bootstrap, lazy_routes, request_context
from chalicelib.api.common import agency_key, auth
from chalicelib.events import UPLOAD_EVENT_PATTERN, created_object
from chalicelib.http import NO_STORE
from chalicelib.observability import bind_request, logger, metrics
from chalicelib.route_table import ROUTES

app = Chalice(app_name="citizen-evidence")
# Read at import: Chalice subscribes the export worker to this queue, and the sequencer to the
# audit inbox's stream, when it packages the app (take the ARN from the stack's outputs).
EXPORT_QUEUE = os.environ.get("EXPORT_QUEUE_NAME", "citizen-evidence-prod-exports")
AUDIT_INBOX_STREAM = os.environ.get(
    "AUDIT_INBOX_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:123456789012:table/citizen-evidence-prod-audit-inbox/stream/SET-AT-DEPLOY")
app.register_blueprint(auth)  # the authorizer
# Every route, its module imported on its first call (chalicelib/lazy_routes.py): a cold start loads
# only the code of the route it serves.
lazy_routes.register(app, ROUTES, authorizers={"agency_key": agency_key})


@app.middleware("http")
def observe(event: Any, get_response: Any) -> Response:
    request_id = event.context.get("requestId") or str(uuid.uuid4())  # chalice local sends none
    bind_request(request_id, method=event.method, path=event.context.get("resourcePath", ""))
    identity = event.context.get("identity") or {}
    agent = (event.headers or {}).get("user-agent", "")
    request_context.set_source(f"ip:{identity.get('sourceIp', 'unknown')} agent:{agent[:120]}")
    started = time.perf_counter()
    response: Response = _in_error_shape(get_response(event))
    spent_ms = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"app;dur={spent_ms:.1f}"  # what benches read as server time
    logger.info("request done", extra={"status": response.status_code, "ms": round(spent_ms, 1)})
    if metrics.metric_set:
        metrics.flush_metrics()
    return response


# Chalice answers some requests itself ({"Code", "Message"}): a method the route lacks (405), a
# Content-Type it does not take (415), an unhandled error. Clients get our one error shape.
def _in_error_shape(response: Response) -> Response:
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    response.body = {"code": _snake_code(str(body["Code"])), "message": body["Message"]}
    response.headers = {**NO_STORE, **(response.headers or {})}
    return response


def _snake_code(chalice_code: str) -> str:
    """MethodNotAllowedError -> method_not_allowed, UnsupportedMediaType -> unsupported_media_type;
    Chalice's InternalServerError is our internal_error."""
    words = re.sub(r"(?<!^)(?=[A-Z])", "_", chalice_code).lower().removesuffix("_error")
    return "internal_error" if words == "internal_server" else words


# --- events and schedules -----------------------------------------------------------------

@app.schedule(Cron(0, 13, "*", "*", "?", "*"), name="daily_digest")
def daily_digest(event: Any) -> dict[str, int]:
    """Each morning (13:00 UTC), tell each agency how many submissions wait for review."""
    request_context.set_source("schedule:daily_digest")
    # Each handler imports the services it runs: an API cold start loads none of these.
    from chalicelib.services import review

    return review.send_digests(deps=bootstrap.deps())


@app.schedule(Cron(0, 6, "*", "*", "?", "*"), name="license_daily")
def license_daily(event: Any) -> dict[str, Any]:
    """Warn agencies 30, 7 and 1 days before their free access ends, and apply the end once
    (each agency's days in its own time zone)."""
    request_context.set_source("schedule:license_daily")
    from chalicelib.services import licensing

    return licensing.run_daily(deps=bootstrap.deps())


@app.schedule(Cron(0, 14, "*", "*", "?", "*"), name="program_notices")
def program_notices(event: Any) -> dict[str, Any]:
    """Each day (14:00 UTC), tell subscribers and participant agencies of use cases announced,
    changed or retired; each (notice, recipient) is claimed before it is sent, so never twice."""
    request_context.set_source("schedule:program_notices")
    from chalicelib.services import program_notices as notices

    return notices.run_scheduled(bootstrap.settings().public_base_url, deps=bootstrap.deps())


@app.schedule(Rate(1, unit=Rate.HOURS), name="retention_sweep")
def retention_sweep(event: Any) -> dict[str, int]:
    """Delete what is due under each agency's retention policy, unless held."""
    request_context.set_source("schedule:retention_sweep")
    from chalicelib.services import retention

    return retention.sweep(deps=bootstrap.deps())


@app.schedule(Rate(1, unit=Rate.HOURS), name="abandoned_uploads")
def abandoned_uploads(event: Any) -> dict[str, int]:
    """Abort multipart uploads given up (no part for a day, or their link expired); their files
    stop holding a slot of the link."""
    request_context.set_source("schedule:abandoned_uploads")
    from chalicelib.services import resumable

    return resumable.abort_abandoned(deps=bootstrap.deps())


@app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="program_extract")
def program_extract(event: Any) -> dict[str, Any]:
    """Each night, an extraction run for every active use case of the improvement program (only
    eligible content; a run adds nothing it already took)."""
    request_context.set_source("schedule:program_extract")
    from chalicelib.services import program_extraction

    return program_extraction.extract_all(deps=bootstrap.program_deps())


@app.schedule(Cron(0, 4, "*", "*", "?", "*"), name="program_delete")
def program_delete(event: Any) -> dict[str, Any]:
    """Each day, the improvement program's deletions: every open withdrawal or removal (found on
    the due index) and the copies of items retention deleted, each with a signed receipt. One
    metric per request done, and the count of requests 7 days or less from due and not done
    (infra/template.yaml alarms on it)."""
    request_context.set_source("schedule:program_delete")
    from chalicelib.services import program_deletion

    report = program_deletion.run(deps=bootstrap.program_deps())
    for done in report["requests"]:
        metrics.add_metric(name="ProgramRequestDaysLeftWhenDone", unit="Count", value=done["days_left"])
    metrics.add_metadata(key="program_requests_done", value=[r["request_id"] for r in report["requests"]])
    metrics.add_metric(name="ProgramRequestsNearDue", unit="Count", value=len(report["near_due_not_done"]))
    metrics.flush_metrics()
    return report


@app.on_cw_event(UPLOAD_EVENT_PATTERN, name="ingest_upload")
def ingest_upload(event: CloudWatchEvent) -> dict[str, Any]:
    """An object landed in the evidence bucket: verify, hash and record it (once)."""
    request_context.set_source("event:s3 object created")
    created = created_object(event.detail)
    if created is None or created["bucket"] != bootstrap.settings().evidence_bucket:
        logger.warning("ignored event", extra={"detail": event.detail})
        return {"outcome": "ignored"}
    from chalicelib.services import ingest

    outcome = ingest.ingest_object(created["key"], version_id=created.get("version_id"), deps=bootstrap.deps())
    metrics.add_metric(name=f"Upload_{outcome.value}", unit="Count", value=1)
    metrics.flush_metrics()
    return {"outcome": outcome.value}


@app.on_dynamodb_record(stream_arn=AUDIT_INBOX_STREAM, name="sequence_audit", batch_size=100,
                        starting_position="TRIM_HORIZON")
def sequence_audit(event: Any) -> dict[str, int]:
    """Events landed in the audit inbox: chain each agency's waiting events, in order. The stream
    only says which agencies to look at; the inbox itself is what gets chained, so a redelivered
    or out-of-order record changes nothing. A failure raises and the stream delivers it again."""
    from chalicelib.services import custody

    agencies = {_stream_key(record.keys) for record in event if record.event_name == "INSERT"}
    return custody.sequence(agencies, deps=bootstrap.deps())


@app.on_sqs_message(queue=EXPORT_QUEUE, batch_size=1, name="export_chunk")
def export_chunk(event: Any) -> None:
    """Run one chunk of an export; the service queues the next one while the job runs."""
    request_context.set_source("queue:exports")
    from chalicelib.services import exports

    for record in event:
        exports.handle_chunk_message(record.body, deps=bootstrap.export_deps(),
                                     time_left=lambda: event.context.get_remaining_time_in_millis() / 1000)


def _stream_key(keys: dict[str, Any]) -> str:
    agency: str = keys["agency_id"]["S"]
    return agency

