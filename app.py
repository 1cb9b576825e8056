"""The Lambda entry points: the API (routes live in chalicelib/api/), the upload event handler,
the export worker and the schedules. Each handler parses its input, calls one service and shapes
the response; the rules live in chalicelib/domain, the use cases in chalicelib/services."""
from __future__ import annotations

import os
import uuid
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Cron, Rate, Response

from chalicelib import bootstrap, request_context
from chalicelib.api.agency import agency_api
from chalicelib.api.common import auth
from chalicelib.api.operator import operator_api
from chalicelib.api.public import public_api
from chalicelib.events import UPLOAD_EVENT_PATTERN, created_object
from chalicelib.observability import bind_request, logger, metrics
from chalicelib.services import exports, ingest, licensing, notify, retention, review

app = Chalice(app_name="citizen-evidence")
# Read at import: Chalice subscribes the export worker to this queue when it packages the app.
EXPORT_QUEUE = os.environ.get("EXPORT_QUEUE_NAME", "citizen-evidence-prod-exports")
for blueprint in (auth, agency_api, operator_api, public_api):
    app.register_blueprint(blueprint)


@app.middleware("http")
def observe(event: Any, get_response: Any) -> Response:
    request_id = event.context.get("requestId") or str(uuid.uuid4())  # chalice local sends none
    bind_request(request_id, method=event.method, path=event.context.get("resourcePath", ""))
    identity = event.context.get("identity") or {}
    agent = (event.headers or {}).get("user-agent", "")
    request_context.set_source(f"ip:{identity.get('sourceIp', 'unknown')} agent:{agent[:120]}")
    response: Response = get_response(event)
    logger.info("request done", extra={"status": response.status_code})
    if metrics.metric_set:
        metrics.flush_metrics()
    return response


# --- events and schedules -----------------------------------------------------------------

@app.schedule(Cron(0, 13, "*", "*", "?", "*"), name="daily_digest")
def daily_digest(event: Any) -> dict[str, int]:
    """Each morning (13:00 UTC), tell each agency how many submissions wait for review."""
    request_context.set_source("schedule:daily_digest")
    return review.send_digests(deps=bootstrap.deps())


@app.schedule(Cron(0, 6, "*", "*", "?", "*"), name="license_daily")
def license_daily(event: Any) -> dict[str, Any]:
    """Warn agencies 30, 7 and 1 days before their free access ends, and apply the end once."""
    request_context.set_source("schedule:license_daily")
    deps = bootstrap.deps()
    return licensing.run_daily(deps.clock.now().date(), licenses=deps.licenses, audit=deps.audit,
                               notify=lambda agency_id, subject, text: notify.email_agency(
                                   agency_id, subject, text, deps=deps), clock=deps.clock)


@app.schedule(Rate(1, unit=Rate.HOURS), name="retention_sweep")
def retention_sweep(event: Any) -> dict[str, int]:
    """Delete what is due under each agency's retention policy, unless held."""
    request_context.set_source("schedule:retention_sweep")
    return retention.sweep(deps=bootstrap.deps())


@app.on_cw_event(UPLOAD_EVENT_PATTERN, name="ingest_upload")
def ingest_upload(event: CloudWatchEvent) -> dict[str, Any]:
    """An object landed in the evidence bucket: verify, hash and record it (once)."""
    request_context.set_source("event:s3 object created")
    created = created_object(event.detail)
    if created is None or created["bucket"] != bootstrap.settings().evidence_bucket:
        logger.warning("ignored event", extra={"detail": event.detail})
        return {"outcome": "ignored"}
    from chalicelib.idempotency import once

    result = once(_ingest, created, event.context)
    metrics.add_metric(name=f"Upload_{result['outcome']}", unit="Count", value=1)
    metrics.flush_metrics()
    return result


@app.on_sqs_message(queue=EXPORT_QUEUE, batch_size=1, name="export_chunk")
def export_chunk(event: Any) -> None:
    """Run one chunk of an export; the service queues the next one while the job runs."""
    request_context.set_source("queue:exports")
    for record in event:
        exports.handle_chunk_message(record.body, deps=bootstrap.export_deps(),
                                     time_left=lambda: event.context.get_remaining_time_in_millis() / 1000)


def _ingest(data: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": ingest.ingest_object(data["key"], deps=bootstrap.deps())}

