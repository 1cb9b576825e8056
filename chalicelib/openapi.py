"""The API's OpenAPI 3.1 document, built from what Chalice registered (`app.routes`), so a route
added anywhere is in it without anyone remembering to add it.

For each route: its path and method, auth (the agency_key authorizer: a bearer key; none on public
routes), the request body model and query parameters read from the handler's own code (the model
given to `parse(...)`, the names given to `int_param`/`datetime_param`/`query.get`), its success
statuses (`status=` literals), and error bodies `{code, message}` for every status in
chalicelib/http.py's table. `@documented(...)` (chalicelib/api/common.py) states what the code cannot
show: the response model, a status set by a helper, a non-JSON media type.

Built once, on the first GET /openapi.json, never at import (the cold start stays light)."""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from .route_doc import RouteDoc
from .route_doc import documented as documented  # where routes found it first

REF = "#/components/schemas/{model}"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SECURITY_SCHEME = "agencyKey"
ERROR_BODY = {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string", "description": "Stable, machine-readable reason."},
    "message": {"type": "string", "description": "For people; may change."},
    "details": {"description": "Which fields are wrong, or what the rule needs."},
    "request_id": {"type": "string", "description": "On a 500: quote it to support."}}}


class OpenApiDocument(BaseModel):
    """`GET /openapi.json` itself (its parts are OpenAPI 3.1's own schema)."""

    model_config = ConfigDict(defer_build=True)
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@dataclass
class Reading:
    """What a handler's code shows: the body model it parses, the query names it reads, its statuses."""
    request: type[BaseModel] | None = None
    reads_body: bool = False
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: set[int] = field(default_factory=set)
    page: bool = False  # builds its own Response (an HTML page) instead of json_response
    parses_argument: int | None = None  # a helper like `_input(model)`: which argument it parses the body into


@functools.cache
def document(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `app` registered (built once per container)."""
    found = list(routes(app))
    schemas = Components([pair for _, _, entry in found for pair in models_named(entry)])
    paths: dict[str, dict[str, Any]] = {}
    for path, method, entry in found:
        paths.setdefault(path, {})[method.lower()] = operation(path, method, entry, schemas)
    return {"openapi": "3.1.0",
            "info": {"title": "Citizen evidence API", "version": "1",
                     "description": "Agency, operator and public routes; errors are {code, message}."},
            "paths": paths,
            "components": {"schemas": schemas.schemas, "securitySchemes": {SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer",
                "description": "An API key (officer, agency_admin or operator) as `Authorization: Bearer <key>`."}}}}


def undocumented(app: Any) -> list[str]:
    """Routes whose handler reads a body the document cannot describe (no model found in its code)."""
    return [f"{method} {path}: declare models for {entry.view_name} in {entry.view_function.__module__} "
            f"(parse(Model, body()) or @documented(request=Model))"
            for path, method, entry in routes(app)
            if reading(entry.view_function).reads_body and model_of(entry.view_function) is None]


def without_response_model(app: Any) -> set[str]:
    """Routes that declare neither the model of their JSON answer nor the media type of their page."""
    return {f"{method} {path}" for path, method, entry in routes(app)
            if declaration(entry.view_function).response is None and declaration(entry.view_function).media is None}


def model_of(view: Any) -> type[BaseModel] | None:
    return declaration(view).request or reading(view).request


def routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """Each route, its entry's view the handler itself (app.py registers thin views that load it)."""
    from .lazy_routes import handler_entry

    for path in sorted(app.routes):
        for method, entry in sorted(app.routes[path].items()):
            yield path, method, handler_entry(entry)


class AnswerSchema(GenerateJsonSchema):
    """An answer holds every field its model dumps, defaults included: each is required, except those
    left out when empty (`exclude_if`). So a conformance check fails on a field missing from a body."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


Mode = Literal["validation", "serialization"]  # a request body's schema, or an answer's
Pair = tuple[type[BaseModel], Mode]


class Components:
    """The schemas of every model the document names, made in one call: pydantic then tells apart a
    model whose request and answer schemas differ (X-Input, X-Output) and two models of one name."""

    def __init__(self, pairs: list[Pair]) -> None:
        self.refs, defs = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF,
                                             schema_generator=AnswerSchema)
        self.schemas: dict[str, Any] = {"Error": ERROR_BODY, **defs.get("$defs", {})}

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])


def models_named(entry: Any) -> Iterator[Pair]:
    request, declared = model_of(entry.view_function), declaration(entry.view_function)
    if request is not None:
        yield request, "validation"
    for answer in answers(declared):
        yield answer, "serialization"


def answers(declared: RouteDoc) -> list[type[BaseModel]]:
    named = declared.response if isinstance(declared.response, tuple) else (declared.response,)
    return [m for m in named if isinstance(m, type) and issubclass(m, BaseModel)]


def operation(path: str, method: str, entry: Any, schemas: Components) -> dict[str, Any]:
    declared, read = declaration(entry.view_function), reading(entry.view_function)
    request = model_of(entry.view_function)
    op: dict[str, Any] = {
        "operationId": operation_id(path, method),
        "summary": summary(entry.view_function),
        "tags": [path.strip("/").split("/")[0] or "root"],
        "security": [{SECURITY_SCHEME: []}] if entry.authorizer else [],
        "parameters": [path_parameter(name) for name in entry.view_args] + [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in sorted(read.query.items())],
        "responses": responses(declared, read, entry.authorizer is not None, schemas),
    }
    if request is not None:
        ref = schemas.ref(request, "validation")
        op["requestBody"] = {"required": False, "content": {ct: {"schema": ref} for ct in entry.content_types}}
    return op


def operation_id(path: str, method: str) -> str:
    """Unique by construction (handler names repeat across blueprints): GET /agency/keys -> get_agency_keys."""
    words = path.replace("{", "").replace("}", "").replace(".", "_").replace("-", "_").strip("/").split("/")
    return "_".join([method.lower(), *words])


def path_parameter(name: str) -> dict[str, Any]:
    # One path segment: ids, tokens, case references, country codes, versions.
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def responses(declared: RouteDoc, read: Reading, authed: bool, schemas: Components) -> dict[str, Any]:
    from .http import STATUS

    media = declared.media or ("text/html" if read.page else "application/json")
    content: dict[str, Any] = {media: {"schema": {"application/json": {"type": "object"}, "*/*": {}}.get(
        media, {"type": "string"})}}
    refs = [schemas.ref(m, "serialization") for m in answers(declared)]
    if refs:  # a page with a model answers JSON too, when asked for it
        content["application/json"] = {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}
    success = sorted(set(declared.statuses) or read.statuses or {200})
    out: dict[str, Any] = {str(s): {"description": "Done.", "content": content} for s in success}
    error: dict[str, Any] = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    if media != "application/json":  # a page answers its errors as a page too
        error[media] = {"schema": {"type": "string"}}
    errors = (set(STATUS.values()) | {401, 500}) - (set() if authed else {401})  # 401: no key sent
    for status in sorted(errors - set(success)):
        out[str(status)] = {"description": "Refused or failed; see `code`.", "content": error}
    return out


def declaration(view: Any) -> RouteDoc:
    found: RouteDoc = getattr(view, "route_doc", None) or RouteDoc()
    if isinstance(found.response, tuple):
        return dataclasses.replace(found, response=tuple(_imported(m) for m in found.response))
    return dataclasses.replace(found, response=_imported(found.response)) if found.response else found


def _imported(model: Any) -> Any:
    """A model named "package.module.Class", imported now; a model class as it is."""
    if isinstance(model, str):
        module, _, name = model.rpartition(".")
        return getattr(importlib.import_module(module), name)
    return model


def summary(view: Any) -> str:
    doc = inspect.getdoc(inspect.unwrap(view))
    return doc.split("\n\n")[0].replace("\n", " ") if doc else view.__name__.replace("_", " ").capitalize()


# --- reading a handler's code ----------------------------------------------------------------

@functools.cache
def reading(view: Any) -> Reading:
    function = inspect.unwrap(view)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = Reading()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _read_call(node, function, found)
    return found


def _read_call(call: ast.Call, function: Any, found: Reading) -> None:
    name = _called(call)
    if name == "parse" and len(call.args) == 2 and _is_body(call.args[1]):
        _found_model(_resolve(call.args[0], function), found)
        found.parses_argument = _argument_index(call.args[0], function)
    elif (helper := _module_helper(call, function)) is not None:
        _read_helper(call, helper, function, found)
    elif name == "body" and isinstance(call.func, ast.Name):  # common.body(), not some_view.body()
        found.reads_body = True
    elif name == "Response" and isinstance(call.func, ast.Name):
        found.page = True
    elif name in ("int_param", "datetime_param") and len(call.args) > 1:
        key = _literal(call.args[1])
        if isinstance(key, str):
            found.query[key] = {"type": "integer", "minimum": 0} if name == "int_param" else {
                "type": "string", "format": "date-time"}
    elif name == "get" and call.args and _reads_query(call) and isinstance(_literal(call.args[0]), str):
        found.query.setdefault(str(_literal(call.args[0])), {"type": "string"})
    for keyword in call.keywords:
        status = _literal(keyword.value)
        if keyword.arg in ("status", "status_code") and isinstance(status, int) and 200 <= status < 300:
            found.statuses.add(status)


def _found_model(model: Any, found: Reading) -> None:
    if isinstance(model, type) and issubclass(model, BaseModel):
        found.request = model


def _argument_index(node: ast.AST, function: Any) -> int | None:
    names = list(inspect.signature(function).parameters)
    return names.index(node.id) if isinstance(node, ast.Name) and node.id in names else None


def _module_helper(call: ast.Call, function: Any) -> Any:
    """A function of the handler's own module that it calls (e.g. `_input(Model)`, `_share_page(...)`)."""
    if not isinstance(call.func, ast.Name) or call.func.id in ("parse", "body", "Response"):
        return None
    helper = function.__globals__.get(call.func.id)
    same_module = inspect.isfunction(helper) and helper.__module__ == function.__module__
    return helper if same_module and helper is not function else None


def _read_helper(call: ast.Call, helper: Any, function: Any, found: Reading) -> None:
    """What the helper reads, the handler reads: its body, its query names, its statuses."""
    inner = reading(helper)
    found.reads_body |= inner.reads_body
    found.page |= inner.page
    found.query.update(inner.query)
    found.statuses |= inner.statuses
    if inner.request is not None:
        found.request = inner.request
    elif inner.parses_argument is not None and inner.parses_argument < len(call.args):
        _found_model(_resolve(call.args[inner.parses_argument], function), found)


def _is_body(node: ast.AST) -> bool:
    """`body()`: what parse reads is the request body (a handler may parse a path parameter too)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "body"


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _reads_query(call: ast.Call) -> bool:
    """`query.get("x")` where query = params(), or `params().get("x")`."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(receiver, ast.Name):
        return receiver.id == "query"
    return isinstance(receiver, ast.Call) and _called(receiver) == "params"


def _literal(node: ast.AST) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _resolve(node: ast.AST, function: Any) -> Any:
    """The object an expression like `CreateShare` or `keys.IssueKey` names in the handler."""
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, function), node.attr, None)
    if not isinstance(node, ast.Name):
        return None
    if node.id in function.__globals__:
        return function.__globals__[node.id]
    return _imported_inside(node.id, function)


def _imported_inside(name: str, function: Any) -> Any:
    """A name the handler imports in its body (deferred imports keep cold starts light)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    module = importlib.import_module("." * node.level + (node.module or ""),
                                                     package=function.__module__.rpartition(".")[0])
                    return getattr(module, alias.name)
    return None
