"""A citizen's large-file uploads (S3 multipart) and the server's verdict on each file: the link's
token is the only credential, and a file id of another link is simply not found."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.commands import CompleteFile, SignParts
from ..domain.limits import Rule
from ..domain.models import EvidenceFile
from ..http import handled, json_response, parse
from ..services import citizen_uploads
from .common import body, limit_caller

resumable_api = Blueprint(__name__)


@resumable_api.route("/c/{token}/uploads/{file_id}/parts", methods=["POST"])
@handled
def sign_parts(token: str, file_id: str) -> Response:
    """Presigned UploadPart URLs for the parts asked for (each bound to its SHA-256 when given)."""
    limit_caller(Rule.CITIZEN_PARTS)
    parts = citizen_uploads.sign_parts(token, file_id, parse(SignParts, body()), deps=bootstrap.deps())
    return json_response({"file_id": file_id, "parts": parts})


@resumable_api.route("/c/{token}/uploads/{file_id}/parts", methods=["GET"])
@handled
def held_parts(token: str, file_id: str) -> Response:
    """The parts S3 already holds: where a page resumes after a reload or a cut."""
    limit_caller(Rule.CITIZEN_READ)
    return json_response({"file_id": file_id} | citizen_uploads.held_parts(token, file_id, deps=bootstrap.deps()))


@resumable_api.route("/c/{token}/uploads/{file_id}/complete", methods=["POST"])
@handled
def complete_file(token: str, file_id: str) -> Response:
    limit_caller(Rule.CITIZEN_WRITE)
    file = citizen_uploads.complete_file(token, file_id, parse(CompleteFile, body()), deps=bootstrap.deps())
    return json_response(verdict(file))


@resumable_api.route("/c/{token}/files", methods=["GET"])
@handled
def file_verdicts(token: str) -> Response:
    """Each declared file's state: awaiting (not arrived or being checked), verified, rejected (with a
    code the page translates) or abandoned."""
    limit_caller(Rule.CITIZEN_READ)
    files = citizen_uploads.verdicts(token, deps=bootstrap.deps())
    return json_response({"files": [verdict(f) for f in sorted(files, key=lambda f: f.file_id)]})


def verdict(file: EvidenceFile) -> dict[str, object]:
    return {"file_id": file.file_id, "name": file.name, "size": file.size, "status": file.status.value,
            "reject_code": file.reject_code.value if file.reject_code else None,
            "sha256": file.sha256}
