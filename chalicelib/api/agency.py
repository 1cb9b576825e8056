"""The agency API: citizen links, submissions and their review, retention and holds, custody,
exports, settings and licence. Every route needs an agency key; services decide what it may do."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    PlaceHold,
    RequestUploads,
    ReviewSubmission,
    SetRetentionPolicy,
    StartCapture,
    UpdateAgencySettings,
)
from ..domain.licensing import LicenseView
from ..domain.models import AuditFilter, Principal, RetentionPolicy
from ..http import datetime_param, handled, int_param, json_response, parse
from ..observability import metrics
from ..services import access, agencies, captures, citizen_links, custody, portals, retention, review, submissions
from ..services.agencies import AgencySettings
from ..services.custody import AuditEntryView, AuditPage
from ..services.retention import HoldReleased, HoldView
from ..views import (
    CaptureView,
    CompletedCapture,
    CreatedLink,
    LinkView,
    SubmissionList,
    SubmissionView,
    SubmissionWithDownloads,
    capture_view,
    submission_model,
)
from .common import agency_key, body, caller, documented, page_base, params, request

agency_api = Blueprint(__name__)

@agency_api.route("/agency/citizen-links", methods=["POST"], authorizer=agency_key)
@documented(response=CreatedLink)
@handled
def create_citizen_link() -> Response:
    link, url = citizen_links.send_citizen_link(caller(), parse(CreateCitizenLink, body()), page_base=page_base(),
                                               deps=bootstrap.deps())
    metrics.add_metric(name="CitizenLinkCreated", unit="Count", value=1)
    return json_response(CreatedLink.model_validate(link.model_dump() | {"url": url}), status=201)


@agency_api.route("/agency/captures", methods=["POST"], authorizer=agency_key)
@documented(response=CaptureView)
@handled
def start_capture() -> Response:
    capture, signed = captures.start_capture(caller(), parse(StartCapture, body()), deps=bootstrap.deps())
    metrics.add_metric(name="CaptureStarted", unit="Count", value=1)
    return json_response(capture_view(capture, signed), status=201)


@agency_api.route("/agency/captures/{capture_id}/files", methods=["POST"], authorizer=agency_key)
@documented(response=CaptureView)
@handled
def declare_capture_files(capture_id: str) -> Response:
    capture, signed = captures.declare_files(caller(), capture_id, parse(RequestUploads, body()),
                                             deps=bootstrap.deps())
    return json_response(capture_view(capture, signed))


@agency_api.route("/agency/captures/{capture_id}/complete", methods=["POST"], authorizer=agency_key)
@documented(response=CompletedCapture)
@handled
def complete_capture(capture_id: str) -> Response:
    done = captures.complete_capture(caller(), capture_id, parse(CompleteSubmission, body()), deps=bootstrap.deps())
    metrics.add_metric(name="CaptureCompleted", unit="Count", value=1)
    return json_response(submission_model(done, view=CompletedCapture, capture_id=done.submission_id))


@agency_api.route("/agency/citizen-links/{link_id}", methods=["GET"], authorizer=agency_key)
@documented(response=LinkView)
@handled
def get_citizen_link(link_id: str) -> Response:
    return json_response(LinkView.model_validate(citizen_links.get_link(caller(), link_id, deps=bootstrap.deps())))


@agency_api.route("/agency/submissions", methods=["GET"], authorizer=agency_key)
@documented(response=SubmissionList)
@handled
def list_submissions() -> Response:
    query = params()
    if query.get("portal") is not None:  # the triage queue of one community portal
        page = portals.triage(caller(), query["portal"], limit=int_param(query, "limit", 25),
                              cursor=query.get("next"), deps=bootstrap.deps())
    else:
        page = submissions.list_submissions(caller(), case_ref=query.get("case"),
                                            limit=int_param(query, "limit", 25), cursor=query.get("next"),
                                            deps=bootstrap.deps())
    return json_response(SubmissionList(items=[submission_model(s) for s in page.items], next=page.next_cursor))


@agency_api.route("/agency/submissions/{submission_id}", methods=["GET"], authorizer=agency_key)
@documented(response=SubmissionWithDownloads)
@handled
def get_submission(submission_id: str) -> Response:
    submission, extra = submissions.view_submission(caller(), submission_id, deps=bootstrap.deps())
    return json_response(submission_model(submission, extra["download_urls"], view=SubmissionWithDownloads,
                                          expires_in=extra["expires_in"]))


@agency_api.route("/agency/settings", methods=["GET"], authorizer=agency_key)
@documented(response=AgencySettings)
@handled
def get_settings() -> Response:
    return json_response(AgencySettings.model_validate(access.agency_of(caller(), deps=bootstrap.deps())))


@agency_api.route("/agency/settings", methods=["PATCH"], authorizer=agency_key)
@documented(response=AgencySettings)
@handled
def update_settings() -> Response:
    agency = agencies.update_settings(caller(), parse(UpdateAgencySettings, body()), deps=bootstrap.deps())
    return json_response(AgencySettings.model_validate(agency))


@agency_api.route("/agency/submissions/{submission_id}/review", methods=["POST"], authorizer=agency_key)
@documented(response=SubmissionView)
@handled
def review_submission(submission_id: str) -> Response:
    reviewed = review.review_submission(caller(), submission_id, parse(ReviewSubmission, body()),
                                        deps=bootstrap.deps())
    return json_response(submission_model(reviewed))


@agency_api.route("/agency/retention", methods=["PUT"], authorizer=agency_key)
@documented(response=RetentionPolicy)
@handled
def set_retention() -> Response:
    policy = retention.set_policy(caller(), parse(SetRetentionPolicy, body()), deps=bootstrap.deps())
    return json_response(policy.model_dump(mode="json"))


@agency_api.route("/agency/holds/cases/{case_ref}", methods=["PUT"], authorizer=agency_key)
@documented(response=HoldView)
@handled
def hold_case(case_ref: str) -> Response:
    hold = retention.hold_case(caller(), case_ref, parse(PlaceHold, body()), deps=bootstrap.deps())
    return json_response(HoldView.model_validate(hold))


@agency_api.route("/agency/holds/cases/{case_ref}", methods=["DELETE"], authorizer=agency_key)
@documented(response=HoldReleased)
@handled
def release_case(case_ref: str) -> Response:
    retention.release_case(caller(), case_ref, deps=bootstrap.deps())
    return json_response(HoldReleased(case_ref=case_ref, legal_hold=False))


@agency_api.route("/agency/submissions/{submission_id}/hold", methods=["PUT", "DELETE"], authorizer=agency_key)
@documented(response=SubmissionView)
@handled
def hold_submission(submission_id: str) -> Response:
    placing = request().method == "PUT"
    reason = parse(PlaceHold, body()).reason if placing else None
    held = retention.hold_submission(caller(), submission_id, placing, reason, deps=bootstrap.deps())
    return json_response(submission_model(held))


@agency_api.route("/agency/audit", methods=["GET"], authorizer=agency_key)
@documented(response=AuditPage)
@handled
def audit_log() -> Response:
    query = params()
    wanted = AuditFilter(target=query.get("target"), actor=query.get("actor"), action=query.get("action"),
                         since=datetime_param(query, "since"), until=datetime_param(query, "until"))
    entries, after, waiting = custody.search(caller(), wanted, after_seq=int_param(query, "after", 0),
                                             limit=int_param(query, "limit", 50), deps=bootstrap.deps())
    return json_response(AuditPage(items=[AuditEntryView.model_validate(e) for e in entries], next_after=after,
                                   waiting=waiting))


EXPORT_BODY = "chalicelib.services.exports.ExportBody"  # by name: the export code loads only when used


@agency_api.route("/agency/exports", methods=["POST"], authorizer=agency_key)
@documented(response=EXPORT_BODY, statuses=(201,))
@handled
def start_export() -> Response:
    from ..domain.exports import StartExport
    from ..services import exports  # deferred, as in the two routes below: keeps every cold start light

    principal = agency_caller()
    cmd = parse(StartExport, body())
    if cmd.share_id is not None:  # exporting what was shared: the same receiving rule as viewing it
        from ..services import sharing

        sharing.ensure_receiver(principal, deps=bootstrap.deps())
    job = exports.start_export(principal, cmd, deps=bootstrap.export_deps())
    return json_response(exports.ExportView(job=job).body(), status=201)


@agency_api.route("/agency/exports/{export_id}", methods=["GET"], authorizer=agency_key)
@documented(response=EXPORT_BODY)
@handled
def get_export(export_id: str) -> Response:
    from ..services import exports

    query = params()
    view = exports.get_export(agency_caller(), export_id, deps=bootstrap.export_deps(), cursor=query.get("next"),
                              limit=int_param(query, "limit", 100))
    return json_response(view.body())


@agency_api.route("/agency/exports/{export_id}/retry", methods=["POST"], authorizer=agency_key)
@documented(response=EXPORT_BODY, statuses=(202,))
@handled
def retry_export(export_id: str) -> Response:
    from ..services import exports

    job = exports.retry_export(agency_caller(), export_id, deps=bootstrap.export_deps())
    return json_response(exports.ExportView(job=job).body(), status=202)


def agency_caller() -> Principal:
    """The caller, refused unless it acts for an agency (operator keys do not)."""
    principal = caller()
    access.agency_of(principal, deps=bootstrap.deps())
    return principal


@agency_api.route("/agency/license", methods=["GET"], authorizer=agency_key)
@documented(response=LicenseView)
@handled
def get_license() -> Response:
    agency = access.agency_of(caller(), deps=bootstrap.deps())
    return json_response(LicenseView.of(access.entitlements_of(agency, deps=bootstrap.deps())))
