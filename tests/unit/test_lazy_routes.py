"""app.py registers every route from chalicelib/route_table.py and loads a route's module on its first
call (chalicelib/lazy_routes.py). The table must be exactly what the blueprints declare, and the app
must register exactly the table."""
from __future__ import annotations

import app as application
from chalicelib import lazy_routes
from chalicelib.api.common import auth
from chalicelib.route_table import ROUTES


def test_the_route_table_is_what_the_blueprints_declare() -> None:
    assert lazy_routes.TABLE_FILE.read_text() == lazy_routes.render(lazy_routes.table_from_blueprints()), (
        "chalicelib/route_table.py is stale: a route was added, moved or changed. "
        "Run `.venv/bin/python -m chalicelib.lazy_routes` and commit the table")
    # Reading the blueprints registers them on a scratch app: the authorizer's stays the app's, or every
    # handler's request() would read the scratch app's (no) request.
    assert auth.current_app is application.app


def test_the_app_registers_every_route_of_the_table_with_its_authorizer_and_content_types() -> None:
    registered = {(path, method, entry.view_function.__module__, entry.view_name,
                   entry.authorizer.name if entry.authorizer else None, tuple(entry.content_types))
                  for path, methods in application.app.routes.items() for method, entry in methods.items()}
    table = {(path, method, module, name, authorizer, types)
             for path, methods, module, name, authorizer, types in ROUTES for method in methods}
    assert registered == table
    assert len(table) > 80  # the table is not empty by mistake


def test_a_thin_view_stands_for_its_handler_and_loads_it_once() -> None:
    entry = application.app.routes["/c/{token}/session"]["GET"]
    handler = lazy_routes.real_view(entry.view_function)
    assert handler is not entry.view_function
    assert (handler.__module__, handler.__name__) == ("chalicelib.api.public", "citizen_session")
    assert lazy_routes.real_view(entry.view_function) is handler
    assert lazy_routes.real_view(handler) is handler  # a handler is its own
