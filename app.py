"""Routes, event handlers and schedules. Each handler parses its input, calls one service and
shapes the response; the rules live in chalicelib/domain, the use cases in chalicelib/services."""
from __future__ import annotations

import os
import uuid
from typing import Any

from chalice.app import AuthResponse, Chalice, CloudWatchEvent, Cron, Rate, Request, Response

from chalicelib import bootstrap, pages, request_context
from chalicelib.domain import ids
from chalicelib.domain.access_requests import DenyAccessRequest, RequestStatus, SubmitAccessRequest
from chalicelib.domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    ExtendProgram,
    PlaceHold,
    RequestUploads,
    ReviewSubmission,
    SetCountryDate,
    SetLicense,
    SetQuota,
    SetRetentionPolicy,
    UpdateAgencySettings,
)
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.exports import StartExport
from chalicelib.domain.models import AuditFilter, Principal
from chalicelib.events import UPLOAD_EVENT_PATTERN, created_object
from chalicelib.http import datetime_param, handled, int_param, json_response, parse
from chalicelib.observability import bind_request, logger, metrics
from chalicelib.services import (
    access,
    access_requests,
    agencies,
    citizen_links,
    citizen_uploads,
    custody,
    exports,
    ingest,
    licensing,
    notify,
    retention,
    review,
    submissions,
)
from chalicelib.services.deps import Deps
from chalicelib.views import file_view, link_view, submission_view

app = Chalice(app_name="citizen-evidence")
# Read at import: Chalice subscribes the export worker to this queue when it packages the app.
EXPORT_QUEUE = os.environ.get("EXPORT_QUEUE_NAME", "citizen-evidence-prod-exports")


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


@app.authorizer(ttl_seconds=60)
def agency_key(auth_request: Any) -> AuthResponse:
    principal = agencies.authenticate(auth_request.token or "", deps=bootstrap.deps())
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.key_id, context=principal.model_dump(mode="json"))


def request() -> Request:
    current = app.current_request
    assert current is not None, "only called while handling a request"
    return current


def caller() -> Principal:
    return Principal.model_validate(request().context["authorizer"])


def page_base() -> str:
    """Base URL of the citizen pages: configured, or this API's own address and stage."""
    configured = bootstrap.settings().public_base_url
    if configured:
        return configured
    current = request()
    return f"https://{current.headers['host']}/{current.context.get('stage', 'api')}"


def body() -> bytes:
    raw = request().raw_body
    return raw.encode() if isinstance(raw, str) else bytes(raw or b"")


# --- agency API ---------------------------------------------------------------------------

@app.route("/agency/citizen-links", methods=["POST"], authorizer=agency_key)
@handled
def create_citizen_link() -> Response:
    link, url = citizen_links.send_citizen_link(caller(), parse(CreateCitizenLink, body()), page_base=page_base(),
                                               deps=bootstrap.deps())
    metrics.add_metric(name="CitizenLinkCreated", unit="Count", value=1)
    return json_response({**link_view(link), "url": url}, status=201)


@app.route("/agency/citizen-links/{link_id}", methods=["GET"], authorizer=agency_key)
@handled
def get_citizen_link(link_id: str) -> Response:
    return json_response(link_view(citizen_links.get_link(caller(), link_id, deps=bootstrap.deps())))


@app.route("/agency/submissions", methods=["GET"], authorizer=agency_key)
@handled
def list_submissions() -> Response:
    params = dict(request().query_params or {})
    page = submissions.list_submissions(caller(), case_ref=params.get("case"), limit=int_param(params, "limit", 25),
                                        cursor=params.get("next"), deps=bootstrap.deps())
    return json_response({"items": [submission_view(s) for s in page.items], "next": page.next_cursor})


@app.route("/agency/submissions/{submission_id}", methods=["GET"], authorizer=agency_key)
@handled
def get_submission(submission_id: str) -> Response:
    submission, extra = submissions.view_submission(caller(), submission_id, deps=bootstrap.deps())
    return json_response(submission_view(submission, extra["download_urls"]) | {"expires_in": extra["expires_in"]})


SETTINGS = {"agency_id", "name", "country", "link_ttl_hours", "max_files_per_link", "auto_accept", "contact_email",
            "retention"}


@app.route("/agency/settings", methods=["GET"], authorizer=agency_key)
@handled
def get_settings() -> Response:
    agency = access.agency_of(caller(), deps=bootstrap.deps())
    return json_response(agency.model_dump(mode="json", include=SETTINGS))


@app.route("/agency/settings", methods=["PATCH"], authorizer=agency_key)
@handled
def update_settings() -> Response:
    agency = agencies.update_settings(caller(), parse(UpdateAgencySettings, body()), deps=bootstrap.deps())
    return json_response(agency.model_dump(mode="json", include=SETTINGS))


@app.route("/agency/submissions/{submission_id}/review", methods=["POST"], authorizer=agency_key)
@handled
def review_submission(submission_id: str) -> Response:
    reviewed = review.review_submission(caller(), submission_id, parse(ReviewSubmission, body()),
                                        deps=bootstrap.deps())
    return json_response(submission_view(reviewed))


@app.route("/agency/retention", methods=["PUT"], authorizer=agency_key)
@handled
def set_retention() -> Response:
    policy = retention.set_policy(caller(), parse(SetRetentionPolicy, body()), deps=bootstrap.deps())
    return json_response(policy.model_dump(mode="json"))


@app.route("/agency/holds/cases/{case_ref}", methods=["PUT"], authorizer=agency_key)
@handled
def hold_case(case_ref: str) -> Response:
    hold = retention.hold_case(caller(), case_ref, parse(PlaceHold, body()), deps=bootstrap.deps())
    return json_response(hold.model_dump(mode="json", exclude={"agency_id"}))


@app.route("/agency/holds/cases/{case_ref}", methods=["DELETE"], authorizer=agency_key)
@handled
def release_case(case_ref: str) -> Response:
    retention.release_case(caller(), case_ref, deps=bootstrap.deps())
    return json_response({"case_ref": case_ref, "legal_hold": False})


@app.route("/agency/submissions/{submission_id}/hold", methods=["PUT", "DELETE"], authorizer=agency_key)
@handled
def hold_submission(submission_id: str) -> Response:
    placing = request().method == "PUT"
    reason = parse(PlaceHold, body()).reason if placing else None
    held = retention.hold_submission(caller(), submission_id, placing, reason, deps=bootstrap.deps())
    return json_response(submission_view(held))


@app.route("/agency/audit", methods=["GET"], authorizer=agency_key)
@handled
def audit_log() -> Response:
    params = dict(request().query_params or {})
    wanted = AuditFilter(target=params.get("target"), actor=params.get("actor"), action=params.get("action"),
                         since=datetime_param(params, "since"), until=datetime_param(params, "until"))
    entries, after = custody.search(caller(), wanted, after_seq=int_param(params, "after", 0),
                                    limit=int_param(params, "limit", 50), deps=bootstrap.deps())
    return json_response({"items": [e.model_dump(mode="json", exclude={"agency_id"}) for e in entries],
                          "next_after": after})


@app.route("/agency/exports", methods=["POST"], authorizer=agency_key)
@handled
def start_export() -> Response:
    principal = agency_caller()
    job = exports.start_export(principal, parse(StartExport, body()), deps=bootstrap.export_deps())
    return json_response(exports.ExportView(job=job).body(), status=201)


@app.route("/agency/exports/{export_id}", methods=["GET"], authorizer=agency_key)
@handled
def get_export(export_id: str) -> Response:
    params = dict(request().query_params or {})
    view = exports.get_export(agency_caller(), export_id, deps=bootstrap.export_deps(), cursor=params.get("next"),
                              limit=int_param(params, "limit", 100))
    return json_response(view.body())


@app.route("/agency/exports/{export_id}/retry", methods=["POST"], authorizer=agency_key)
@handled
def retry_export(export_id: str) -> Response:
    job = exports.retry_export(agency_caller(), export_id, deps=bootstrap.export_deps())
    return json_response(exports.ExportView(job=job).body(), status=202)


def agency_caller() -> Principal:
    """The caller, refused unless it acts for an agency (operator keys do not)."""
    principal = caller()
    access.agency_of(principal, deps=bootstrap.deps())
    return principal


@app.route("/agency/license", methods=["GET"], authorizer=agency_key)
@handled
def get_license() -> Response:
    agency = access.agency_of(caller(), deps=bootstrap.deps())
    ent = access.entitlements_of(agency.agency_id, deps=bootstrap.deps())
    days_left = (ent.program_end - ent.on).days if ent.program_end and ent.program_end >= ent.on else None
    return json_response(ent.model_dump(mode="json", exclude={"agency_id"}) | {"days_left": days_left})


# --- access requests (public) and operator controls ----------------------------------------

@app.route("/access", methods=["GET"])
def access_page() -> Response:
    return Response(body=pages.access_page(), status_code=200, headers=pages.security_headers("'self'"))


@app.route("/access-requests", methods=["POST"])
@handled
def submit_access_request() -> Response:
    received = access_requests.submit(parse(SubmitAccessRequest, body()), deps=bootstrap.deps())
    return json_response({"request_id": received.request_id, "status": received.status.value}, status=201)


@app.route("/operator/access-requests", methods=["GET"], authorizer=agency_key)
@handled
def list_access_requests() -> Response:
    params = dict(request().query_params or {})
    status = params.get("status", "pending")
    if status not in {s.value for s in RequestStatus}:
        raise InvalidInput("status is pending, approved or denied.", code="validation_error")
    page = access_requests.list_requests(caller(), RequestStatus(status), limit=int_param(params, "limit", 50),
                                         cursor=params.get("next"), deps=bootstrap.deps())
    return json_response({"items": [r.model_dump(mode="json", exclude={"fingerprint"}) for r in page.items],
                          "next": page.next_cursor})


@app.route("/operator/access-requests/{request_id}/approve", methods=["POST"], authorizer=agency_key)
@handled
def approve_access_request(request_id: str) -> Response:
    decided, key = access_requests.approve(caller(), request_id, deps=bootstrap.deps())
    return json_response({"request_id": request_id, "agency_id": decided.agency_id, "admin_key": key})


@app.route("/operator/access-requests/{request_id}/deny", methods=["POST"], authorizer=agency_key)
@handled
def deny_access_request(request_id: str) -> Response:
    decided = access_requests.deny(caller(), request_id, parse(DenyAccessRequest, body()), deps=bootstrap.deps())
    return json_response({"request_id": request_id, "status": decided.status.value})


@app.route("/operator/agencies/{agency_id}/license", methods=["PUT"], authorizer=agency_key)
@handled
def set_agency_license(agency_id: str) -> Response:
    cmd, deps = parse(SetLicense, body()), operator_deps(agency_id)
    lic = licensing.set_license(agency_id, cmd.kind, cmd.citizen_addon, country=cmd.country,
                                licenses=deps.licenses, clock=deps.clock, audit=deps.audit, actor=caller().actor)
    return json_response(lic.model_dump(mode="json"))


@app.route("/operator/program/extend", methods=["POST"], authorizer=agency_key)
@handled
def extend_program() -> Response:
    cmd = parse(ExtendProgram, body())
    deps = operator_deps(cmd.agency_id)
    end = licensing.extend_program(cmd.end, cmd.agency_id, licenses=deps.licenses, clock=deps.clock,
                                   audit=deps.audit, actor=caller().actor)
    return json_response({"end": end.isoformat(), "agency_id": cmd.agency_id})


@app.route("/operator/quota", methods=["PUT"], authorizer=agency_key)
@handled
def set_quota() -> Response:
    cmd = parse(SetQuota, body())
    deps = operator_deps(cmd.agency_id)
    used = 0
    if cmd.agency_id:
        agency = deps.agencies.get_agency(cmd.agency_id)
        used = agency.used_bytes if agency else 0
    quota = licensing.set_quota(cmd.quota_bytes, agency_id=cmd.agency_id, used_bytes=used, licenses=deps.licenses,
                                clock=deps.clock, audit=deps.audit, actor=caller().actor)
    return json_response({"quota_bytes": quota, "agency_id": cmd.agency_id, "used_bytes": used})


@app.route("/operator/countries/{country}", methods=["PUT"], authorizer=agency_key)
@handled
def set_country_date(country: str) -> Response:
    cmd, deps = parse(SetCountryDate, body()), operator_deps()
    saved = licensing.set_country_date(country, cmd.available_from, licenses=deps.licenses, clock=deps.clock,
                                       audit=deps.audit, actor=caller().actor)
    return json_response(saved.model_dump(mode="json"))


def operator_deps(agency_id: str | None = None) -> Deps:
    """Dependencies for an operator route; refuses other callers, and agency ids that do not exist."""
    access_requests.require_operator(caller())
    deps = bootstrap.deps()
    if agency_id is not None and (not ids.is_id(agency_id) or deps.agencies.get_agency(agency_id) is None):
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")
    return deps


# --- citizen page and API (the token is the only credential) -------------------------------

@app.route("/c/{token}", methods=["GET"])
@handled
def citizen_page(token: str) -> Response:
    problem, language = citizen_uploads.page_state(token, deps=bootstrap.deps())
    headers = pages.security_headers(bootstrap.upload_origin())
    if problem is None:
        return Response(body=pages.upload_page(), status_code=200, headers=headers)
    status, html = pages.error_page(problem, language or _browser_language())
    return Response(body=html, status_code=status, headers=headers)


@app.route("/c/{token}/session", methods=["GET"])
@handled
def citizen_session(token: str) -> Response:
    return json_response(citizen_uploads.open_link(token, deps=bootstrap.deps()))


@app.route("/c/{token}/uploads", methods=["POST"])
@handled
def citizen_uploads_request(token: str) -> Response:
    submission_id, signed = citizen_uploads.request_uploads(token, parse(RequestUploads, body()),
                                                            deps=bootstrap.deps())
    return json_response({"submission_id": submission_id,
                          "uploads": [file_view(f) | post.model_dump(mode="json") for f, post in signed]})


@app.route("/c/{token}/complete", methods=["POST"])
@handled
def citizen_complete(token: str) -> Response:
    done = citizen_uploads.complete(token, parse(CompleteSubmission, body()), deps=bootstrap.deps())
    metrics.add_metric(name="SubmissionCompleted", unit="Count", value=1)
    return json_response({"submission_id": done.submission_id, "status": done.status.value, "files": len(done.files)})


@app.route("/static/{name}", methods=["GET"])
def static_asset(name: str) -> Response:
    found = pages.asset(name)
    if found is None:
        return json_response({"code": "not_found", "message": "No such file."}, status=404)
    content, content_type = found
    return Response(body=content, status_code=200, headers={
        "Content-Type": content_type, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


def _browser_language() -> str:
    accepted = (request().headers.get("accept-language") or "en")[:2].lower()
    return accepted if accepted in ("en", "es", "fr") else "en"


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

