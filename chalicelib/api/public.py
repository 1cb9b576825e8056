"""The public side: a citizen's upload page and its API (the link's token is the only credential),
static assets, the access-request page and form, and the improvement program's transparency registry
(page and JSON)."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.errors import NotFound
from ..domain.limits import Rule
from ..http import error_response, handled, json_response, parse
from ..observability import metrics
from ..services import citizen_uploads
from ..services.citizen_uploads import LinkSession, Sent
from .common import body, client_address, documented, limit_caller, params, request

# A citizen's cold start (GET /c/{token}/session) loads this module: what only the other routes use
# (pages, access requests, the program's registry, upload signing) is imported in their handlers,
# and their response models are named by path (imported when the OpenAPI document is built).
public_api = Blueprint(__name__)

@public_api.route("/c/{token}", methods=["GET"])
@documented(media="text/html")  # the upload page, or the page saying why it cannot be used
@handled
def citizen_page(token: str) -> Response:
    from .. import pages

    limit_caller(Rule.CITIZEN_READ)
    problem, language, agency = citizen_uploads.page_state(token, deps=bootstrap.deps())
    headers = pages.upload_page_headers(bootstrap.upload_origin())
    if problem is None:
        return Response(body=pages.upload_page(), status_code=200, headers=headers)
    status, html = pages.error_page(problem, language or _browser_language(), agency=agency)
    return Response(body=html, status_code=status, headers=headers)


@public_api.route("/c/{token}/session", methods=["GET"])
@documented(response=LinkSession)
@handled
def citizen_session(token: str) -> Response:
    limit_caller(Rule.CITIZEN_READ)
    return json_response(citizen_uploads.open_link(token, deps=bootstrap.deps()))  # built with LinkSession


@public_api.route("/c/{token}/uploads", methods=["POST"])
@documented(response="chalicelib.views.UploadsSigned")
@handled
def citizen_uploads_request(token: str) -> Response:
    from ..domain.commands import RequestUploads
    from ..services import resumable
    from ..services.resumable import MultipartOffer
    from ..views import UploadSlot, UploadsSigned

    limit_caller(Rule.CITIZEN_WRITE)
    submission_id, signed = citizen_uploads.request_uploads(token, parse(RequestUploads, body()),
                                                            address=client_address(), deps=bootstrap.deps())
    return json_response(UploadsSigned(submission_id=submission_id, uploads=[UploadSlot.model_validate(
        f.model_dump() | (post.model_dump() if post else {"multipart": MultipartOffer(**resumable.offer(f))}))
        for f, post in signed]))


@public_api.route("/c/{token}/complete", methods=["POST"])
@documented(response=Sent)
@handled
def citizen_complete(token: str) -> Response:
    from ..domain.commands import CompleteSubmission

    limit_caller(Rule.CITIZEN_WRITE)
    done = citizen_uploads.complete(token, parse(CompleteSubmission, body()), deps=bootstrap.deps())
    metrics.add_metric(name="SubmissionCompleted", unit="Count", value=1)
    return json_response(Sent(submission_id=done.submission_id, status=done.status, files=len(done.files)))


@public_api.route("/static/{name}", methods=["GET"])
@documented(media="*/*")  # scripts, style sheets, the page's strings
def static_asset(name: str) -> Response:
    from .. import pages

    found = pages.asset(name)
    if found is None:
        return error_response(NotFound("No such file."))
    content, content_type = found
    return Response(body=content, status_code=200, headers={
        "Content-Type": content_type, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


def _browser_language() -> str:
    accepted = (request().headers.get("accept-language") or "en")[:2].lower()
    return accepted if accepted in ("en", "es", "fr") else "en"


@public_api.route("/access", methods=["GET"])
@documented(media="text/html")
def access_page() -> Response:
    from .. import pages

    return Response(body=pages.access_page(), status_code=200, headers=pages.security_headers("'self'"))


@public_api.route("/agency/capture", methods=["GET"])
@documented(media="text/html")
def capture_page() -> Response:
    """The officer's capture page (public HTML: the agency key is entered in the page, never in a URL)."""
    from .. import pages

    return Response(body=pages.capture_page(), status_code=200,
                    headers=pages.security_headers(bootstrap.upload_origin()))


@public_api.route("/access-requests", methods=["POST"])
@documented(response="chalicelib.services.access_requests.RequestState")
@handled
def submit_access_request() -> Response:
    from ..domain.access_requests import SubmitAccessRequest
    from ..services import access_requests
    from ..services.access_requests import RequestState

    limit_caller(Rule.ACCESS_REQUEST)
    received = access_requests.submit(parse(SubmitAccessRequest, body()), deps=bootstrap.deps())
    return json_response(RequestState(request_id=received.request_id, status=received.status), status=201)


TRANSPARENCY_CACHE = "public, max-age=60"


@public_api.route("/transparency.json", methods=["GET"])
@documented(response="chalicelib.services.program.Transparency")
@handled
def transparency_json() -> Response:
    """Every use case of the improvement program with its announced versions (never drafts)."""
    return _transparency_json()


@public_api.route("/transparency", methods=["GET"])
# JSON with Accept: application/json
@documented(response="chalicelib.services.program.Transparency", media="text/html")
@handled
def transparency_page() -> Response:
    """The same registry as a page (server-rendered, every field escaped, no script), or as JSON when
    the client asks for it with `Accept: application/json`."""
    from .. import pages
    from ..services import program

    if "application/json" in (request().headers.get("accept") or ""):
        return _transparency_json()
    asked = params().get("lang", "")
    language = asked if asked in pages.LANGUAGE_NAMES else _browser_language()
    headers = pages.form_headers() | {"Cache-Control": TRANSPARENCY_CACHE,
                                                  "Referrer-Policy": "strict-origin-when-cross-origin",
                                                  "Vary": "Accept, Accept-Language"}
    return Response(body=pages.transparency_page(program.transparency(deps=bootstrap.deps()), language),
                    status_code=200, headers=headers)


def _transparency_json() -> Response:
    from ..services import program

    response = json_response(program.transparency(deps=bootstrap.deps()))  # built with Transparency
    response.headers["Cache-Control"] = TRANSPARENCY_CACHE
    response.headers["Vary"] = "Accept"
    return response
