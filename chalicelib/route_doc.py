"""What a handler states about itself for the OpenAPI document (chalicelib/openapi.py reads the rest
from its code). Its own small module: every route module imports `documented`, and building the
document is no part of a cold start."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from pydantic import BaseModel


Answer: TypeAlias = "type[BaseModel] | str"  # a response model, or its dotted name


@dataclass(frozen=True)
class RouteDoc:
    """All optional. A response model may be named "package.module.Class" when its module is loaded
    only by the handler (exports): it is imported when the document is built, not when the route is.
    A tuple of models: the answer is one of them (a shared item, or what its deletion left)."""
    request: type[BaseModel] | None = None
    response: Answer | tuple[Answer, ...] | None = None
    statuses: tuple[int, ...] = ()
    media: str | None = None


def documented(*, request: type[BaseModel] | None = None, response: Answer | tuple[Answer, ...] | None = None,
               statuses: tuple[int, ...] = (), media: str | None = None) -> Callable[[Any], Any]:
    """Declare what the document cannot read from a handler's code: the response model, a status set
    by a helper, a non-JSON media type."""
    def mark(view: Any) -> Any:
        view.route_doc = RouteDoc(request, response, statuses, media)
        return view
    return mark
