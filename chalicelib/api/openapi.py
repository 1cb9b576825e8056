"""GET /openapi.json: the API's OpenAPI 3.1 document (public). Built on the first request, from the
routes the app registered (chalicelib/openapi.py), and cached by clients for five minutes."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import openapi
from ..http import handled, json_response
from .common import documented

openapi_api = Blueprint(__name__)
OPENAPI_CACHE = "public, max-age=300"


@openapi_api.route("/openapi.json", methods=["GET"])
@documented(response=openapi.OpenApiDocument)
@handled
def openapi_document() -> Response:
    """This document: every route, its bodies, errors and auth."""
    response = json_response(openapi.document(openapi_api.current_app))
    response.headers["Cache-Control"] = OPENAPI_CACHE
    return response
