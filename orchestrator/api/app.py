"""The HTTP API: start, decide and inspect governed workflows; turn events into starts.

Every `/v1` route needs a bearer token; its identity is the requester of what the caller
starts and the approver of what the caller decides, so OPA's rules (separation of duties
included) judge the real caller. An incoming W3C `traceparent` is continued: the request's
server span is current while the workflow is started, and Temporal's tracing interceptor
carries it into the workflow, whose TraceId search attribute then names the caller's trace.

Every start carries a start credential the API signs with its own `api` key for the
requester (the caller, or an event mapping's service account), bound to the workflow id:
the worker verifies it before OPA decides, so a start that did not come through here (or
the CLI) proves no requester. Wrong bearer tokens are limited per client address
(orchestrator/api/auth.py), and bodies are checked before FastAPI parses them
(orchestrator/api/body.py).

This module builds the app (`create_app`) and answers health and readiness; the `/v1`
routes are in orchestrator/api/routes/. The web console (orchestrator/console/) is
mounted under /console, outside the OpenAPI document; the API's docs pages (/docs,
/redoc) are served from local files (orchestrator/api/docs.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from temporalio.client import Client

from orchestrator import __version__
from orchestrator.api import docs, errors
from orchestrator.api.auth import FailedAuthLimiter
from orchestrator.api.config import ApiConfig
from orchestrator.api.dependencies import state
from orchestrator.api.limits import BodyLimit
from orchestrator.api.models import Health
from orchestrator.api.routes import V1
from orchestrator.api.span_names import RouteSpanName, span_details
from orchestrator.api.temporal import Temporal
from orchestrator.config import Settings

health = APIRouter(tags=["health"])


@health.get("/healthz", response_model=Health, summary="The API process is up")
async def healthz() -> Health:
    return Health(status="ok")


@health.get(
    "/readyz",
    response_model=Health,
    summary="Ready to serve: Temporal is reachable",
    responses={503: {"model": Health, "description": "Temporal is not reachable."}},
)
async def readyz(request: Request, response: Response) -> Health:
    _, _, temporal = state(request)
    if await temporal.ready():
        return Health(status="ok", temporal="ok")
    response.status_code = 503
    return Health(status="unavailable", temporal="unreachable")


def create_app(settings: Settings, config: ApiConfig, *, client: Client | None = None) -> FastAPI:
    """The ASGI app. Without `client` it connects to Temporal on first use."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connect early so the first request is fast; a failure only shows in /readyz.
        await app.state.temporal.ready()
        yield
        await app.state.console.aclose()

    app = FastAPI(
        title="policy-orchestrator API",
        version=__version__,
        description="Start, decide and inspect policy-governed workflows; events become "
        "workflow starts. Authenticate with `Authorization: Bearer <token>`.",
        lifespan=lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from CDNs; ours are served from here.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.api_config = config
    app.state.temporal = Temporal(settings, client)
    app.state.auth_limiter = FailedAuthLimiter(
        config.auth_failure_limit,
        config.auth_failure_window_seconds,
        config.auth_tracked_addresses,
    )
    for router in V1:
        app.include_router(router, tags=["v1"])
    app.include_router(health)
    docs.install(app)
    errors.install(app)
    # Imported here: the console imports API modules, and importing any of them first
    # runs this package's __init__, which imports this module.
    from orchestrator.console.app import body_limits
    from orchestrator.console.app import install as install_console

    install_console(app, settings, config)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, by_path=body_limits(config))
    app.add_middleware(RouteSpanName)
    # Outermost of ours: the server span (continuing an incoming traceparent) is current
    # for everything below, including the Temporal start the interceptor propagates. It is
    # named after the route's template, so no workflow id ends up in a span name.
    app.add_middleware(
        OpenTelemetryMiddleware,
        exclude_spans=["receive", "send"],
        default_span_details=span_details(lambda: app.router.routes),
    )
    return app
