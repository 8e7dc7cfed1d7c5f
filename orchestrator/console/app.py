"""Mounts the console on the API's app: its routes (kept out of the OpenAPI document), its
static files, and what it keeps per app (orchestrator/console/state.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from orchestrator.api.config import ApiConfig
from orchestrator.config import Settings
from orchestrator.console.routes import router
from orchestrator.console.state import SIGN_IN, Console, SignInRequired

STATIC = Path(__file__).parent / "static"


async def _sign_in_required(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    if error.json:
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "Sign in to the console first."}},
            status_code=401,
            headers={"Cache-Control": "no-store"},
        )
    return RedirectResponse(SIGN_IN, status_code=303)


def install(app: FastAPI, settings: Settings, config: ApiConfig) -> None:
    """Serve the console under /console on `app` (after its auth limiter exists)."""
    app.state.console = Console(settings, config, app.state.auth_limiter)
    app.include_router(router, include_in_schema=False)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in_required)


def body_limits(config: ApiConfig) -> dict[str, int]:
    """The console's paths whose request bodies have their own limit (the API's BodyLimit):
    an uploaded audit export is megabytes where an API request is kilobytes."""
    return {"/console/audit/verify": config.console_max_upload_bytes}
