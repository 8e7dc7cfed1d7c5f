"""Server span names after the route template, not the requested path.

The ASGI middleware names a span `GET /v1/workflows/approve-deploy-42` by default: every
workflow id a new span name, which floods Jaeger's operation list and says less than
`GET /v1/workflows/{workflow_id}`, the name OpenTelemetry's HTTP conventions ask for
(`{method} {http.route}`, or the method alone when no route matches).

Two steps, because FastAPI resolves the routes of included routers only while it routes:
`span_details` names the span when it starts, from the app's own routes and mounts (the
method alone until a route is known), and `RouteSpanName`, inside the tracing middleware,
renames it from the route FastAPI picked (`scope["route"]`) once the request is handled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.util.http import sanitize_method
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SpanDetails = Callable[[Scope], tuple[str, dict[str, Any]]]


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The path template of the route that serves `scope`, None when none does.

    A route whose path matches under another method (Starlette answers 405) names the span
    too: the request was for that route. Mounted apps add their own template below the
    mount's (`/console/static/{path}` for files, which have no routes of their own).
    """
    near: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner = route_template(route.routes, {**scope, **child})
            return route.path + (inner or "/{path}")
        # An included router (FastAPI's _IncludedRouter) has no path: RouteSpanName names it.
        template: str | None = getattr(route, "path", None)
        if match is Match.FULL:
            return template
        near = near or template
    return near


def span_details(routes: Callable[[], Sequence[BaseRoute]]) -> SpanDetails:
    """The middleware's `default_span_details`: name and `http.route` from the app's routes
    (read per request, so routes added after the middleware count)."""

    def details(scope: Scope) -> tuple[str, dict[str, Any]]:
        method = sanitize_method(str(scope.get("method", "")).strip())
        template = route_template(routes(), scope) if scope.get("type") == "http" else None
        if template is None:
            return method or "HTTP", {}
        return f"{method} {template}", {"http.route": template}

    return details


class RouteSpanName:
    """ASGI middleware for inside OpenTelemetryMiddleware: renames the current (server)
    span after the template of the route that handled the request, while it is still open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def naming_send(message: Message) -> None:
            # The tracing middleware ends the span with the response's last body part.
            if message["type"] == "http.response.start":
                name_after_route(scope)
            await send(message)

        try:
            await self.app(scope, receive, naming_send)
        finally:
            name_after_route(scope)  # no response sent: an error answered further out


def name_after_route(scope: Scope) -> None:
    """Rename the current span after the route the router wrote into `scope` (its
    `scope.update(child_scope)`), while the span is still open."""
    template = getattr(scope.get("route"), "path", None)
    span = trace.get_current_span()
    if isinstance(template, str) and span.is_recording():
        method = sanitize_method(str(scope.get("method", "")).strip())
        span.update_name(f"{method} {template}")
        span.set_attribute("http.route", template)
