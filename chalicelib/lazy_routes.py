"""Routes registered at import, their code loaded on first call.

Chalice needs every route registered when app.py is imported, but a cold start serves one request:
importing every route module (and through them every service and domain model) made a citizen
opening a link wait for the agency's, the operator's and the program's code. So app.py registers a
thin view per route from chalicelib/route_table.py (path, methods, module, handler, authorizer,
content types) and the view imports its handler's module on its first call.

The table is generated from the blueprints themselves (`python -m chalicelib.lazy_routes` rewrites
it); tests/unit/test_lazy_routes.py fails when it no longer matches them. `real_view(view)` gives the
handler behind a thin view: the OpenAPI document and the least-privilege test read its code."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Chalice, RouteEntry

# (path, methods, module, handler name, authorizer name or None, content types)
Route = tuple[str, tuple[str, ...], str, str, str | None, tuple[str, ...]]

TABLE_FILE = Path(__file__).with_name("route_table.py")


def register(app: Chalice, routes: Iterable[Route], authorizers: dict[str, Any]) -> None:
    """Register a thin view for each route: same path, methods, authorizer and content types."""
    for path, methods, module, name, authorizer, content_types in routes:
        options: dict[str, Any] = {"methods": list(methods), "content_types": list(content_types), "name": name}
        if authorizer:
            options["authorizer"] = authorizers[authorizer]
        app.route(path, **options)(_thin_view(app, module, name))


def _thin_view(app: Chalice, module: str, name: str) -> Callable[..., Any]:
    loaded: list[Callable[..., Any]] = []

    def view(**path_params: Any) -> Any:
        if not loaded:
            loaded.append(_load(app, module, name))
        return loaded[0](**path_params)

    # What the handler is, without loading it: for Chalice's names and for readers of the routes.
    view.__module__, view.__name__, view.__qualname__ = module, name, name
    view.lazy_route = (app, module, name)  # type: ignore[attr-defined]
    return view


def _load(app: Chalice, module_name: str, name: str) -> Callable[..., Any]:
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        # Its blueprint was never registered (its routes are ours): give it the app, so that its
        # current_request and current_app work as they would.
        if isinstance(value, Blueprint):
            value._current_app = app
    handler: Callable[..., Any] = getattr(module, name)
    return handler


def real_view(view: Any) -> Any:
    """The handler a route runs: loaded (once) for a thin view, `view` itself otherwise."""
    lazy = getattr(view, "lazy_route", None)
    return _load(*lazy) if lazy else view


def handler_entry(entry: RouteEntry) -> RouteEntry:
    """A route's entry as the blueprint declared it: its view the handler (for readers of its code)."""
    return RouteEntry(real_view(entry.view_function), entry.view_name, entry.uri_pattern, entry.method,
                      api_key_required=entry.api_key_required, content_types=entry.content_types, cors=entry.cors,
                      authorizer=entry.authorizer)


# --- the table, from the blueprints ------------------------------------------------------------

def route_modules() -> list[str]:
    """Every module of chalicelib/api/ but the shared one (a new route module is found without a list)."""
    api = Path(__file__).with_name("api")
    return sorted(f"chalicelib.api.{path.stem}" for path in api.glob("*.py") if path.stem not in ("__init__", "common"))


def blueprints() -> list[Blueprint]:
    """Every route blueprint (imports every route module: for the table and its test, not a cold start)."""
    from chalicelib.api.common import auth

    found: list[Blueprint] = []
    for name in route_modules():
        module = importlib.import_module(name)
        found += [v for v in vars(module).values() if isinstance(v, Blueprint) and v is not auth and v not in found]
    return found


def table_from_blueprints() -> list[Route]:
    """The routes the blueprints register, as the table holds them."""
    from chalicelib.api.common import auth

    scratch = Chalice(app_name="route-table")
    every = [auth, *blueprints()]
    serving = [blueprint._current_app for blueprint in every]  # registering re-points them: put them back
    for blueprint in every:
        scratch.register_blueprint(blueprint)
    for blueprint, app in zip(every, serving, strict=True):
        blueprint._current_app = app
    routes: list[Route] = []
    for path, methods in scratch.routes.items():
        by_view: dict[str, list[Any]] = {}
        for method, entry in methods.items():
            by_view.setdefault(entry.view_name, []).append((method, entry))
        for name, entries in by_view.items():
            entry = entries[0][1]
            module = entry.view_function.__module__
            assert getattr(importlib.import_module(module), name, None) is entry.view_function, (
                f"{module}.{name}: a route's handler must be the module's attribute of its own name")
            routes.append((path, tuple(m for m, _ in entries), module, name,
                           entry.authorizer.name if entry.authorizer else None, tuple(entry.content_types)))
    return routes


def render(routes: list[Route]) -> str:
    rows = "".join(f"    {route!r},\n" for route in routes)
    return ('"""Generated by `python -m chalicelib.lazy_routes` from the route blueprints: do not edit.\n'
            '(path, methods, module, handler, authorizer, content types); see chalicelib/lazy_routes.py."""\n'
            "# ruff: noqa: E501\n"
            f"ROUTES = (\n{rows})\n")


if __name__ == "__main__":
    TABLE_FILE.write_text(render(table_from_blueprints()))
    print(f"wrote {TABLE_FILE}")
