"""A citizen's large-file uploads (S3 multipart) and the server's verdict on each file: the link's
token is the only credential, and a file id of another link is simply not found."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.commands import CompleteFile, SignParts
from ..domain.errors import InvalidInput, LimitExceeded
from ..domain.limits import Rule
from ..http import handled, json_response, parse
from ..services import citizen_uploads
from ..services.resumable import HeldParts, SignedParts
from ..views import FileVerdict, FileVerdicts
from .common import body, documented, limit_caller

resumable_api = Blueprint(__name__)


@resumable_api.route("/c/{token}/uploads/{file_id}/parts", methods=["POST"])
@documented(response=SignedParts)
@handled
def sign_parts(token: str, file_id: str) -> Response:
    """Presigned UploadPart URLs for the parts asked for (each bound to its SHA-256 when given)."""
    try:
        cmd = parse(SignParts, body())
    except (InvalidInput, LimitExceeded):
        limit_caller(Rule.CITIZEN_PARTS)  # garbage counts too, before its 400
        raise
    limit_caller(Rule.CITIZEN_PARTS, cost=len(cmd.parts))  # the cap is on parts (up to 100 a request)
    parts = citizen_uploads.sign_parts(token, file_id, cmd, deps=bootstrap.deps())
    return json_response(SignedParts.model_validate({"file_id": file_id, "parts": parts}))


@resumable_api.route("/c/{token}/uploads/{file_id}/parts", methods=["GET"])
@documented(response=HeldParts)
@handled
def held_parts(token: str, file_id: str) -> Response:
    """The parts S3 already holds: where a page resumes after a reload or a cut."""
    limit_caller(Rule.CITIZEN_READ)
    held = citizen_uploads.held_parts(token, file_id, deps=bootstrap.deps())
    return json_response(HeldParts.model_validate({"file_id": file_id} | held))


@resumable_api.route("/c/{token}/uploads/{file_id}/complete", methods=["POST"])
@documented(response=FileVerdict)
@handled
def complete_file(token: str, file_id: str) -> Response:
    limit_caller(Rule.CITIZEN_WRITE)
    file = citizen_uploads.complete_file(token, file_id, parse(CompleteFile, body()), deps=bootstrap.deps())
    return json_response(FileVerdict.model_validate(file))


@resumable_api.route("/c/{token}/files", methods=["GET"])
@documented(response=FileVerdicts)
@handled
def file_verdicts(token: str) -> Response:
    """Each declared file's state: awaiting (not arrived or being checked), verified, rejected (with a
    code the page translates) or abandoned."""
    limit_caller(Rule.CITIZEN_READ)
    files = citizen_uploads.verdicts(token, deps=bootstrap.deps())
    in_order = sorted(files, key=lambda f: f.file_id)
    return json_response(FileVerdicts(files=[FileVerdict.model_validate(f) for f in in_order]))
