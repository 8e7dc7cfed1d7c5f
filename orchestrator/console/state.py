"""What the console keeps per app (`app.state.console`), and what every route needs: the
viewer, a checked form, the Temporal client and the page for when Temporal fails."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import HTMLResponse
from temporalio.client import Client

from orchestrator.api.auth import FailedAuthLimiter
from orchestrator.api.config import ApiConfig
from orchestrator.config import Settings
from orchestrator.console.cursor import Cursors
from orchestrator.console.flash import Flash
from orchestrator.console.session import Sessions, Viewer, same_origin
from orchestrator.console.templates import render
from orchestrator.policy.client import OpaClient

SIGN_IN = "/console/sign-in"

log = logging.getLogger(__name__)


class Console:
    """What the console keeps on the app (`app.state.console`)."""

    def __init__(self, settings: Settings, config: ApiConfig, limiter: FailedAuthLimiter) -> None:
        self.settings = settings
        self.sessions = Sessions(config, limiter)
        self.flash = Flash(config.console_secret)
        self.cursors = Cursors(config.console_secret)
        self._opa: OpaClient | None = None

    @property
    def opa(self) -> OpaClient:
        """One pooled OPA client, made on first use (for the read-only `may decide` checks)."""
        if self._opa is None:
            self._opa = OpaClient(self.settings.opa)
        return self._opa

    async def aclose(self) -> None:
        if self._opa is not None:
            await self._opa.aclose()
            self._opa = None


class SignInRequired(Exception):
    """No valid session: pages go to the sign-in page, JSON endpoints answer 401."""

    def __init__(self, json: bool) -> None:
        super().__init__("sign in first")
        self.json = json


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def viewer(request: Request) -> Viewer:
    """The signed-in viewer (a FastAPI dependency), else SignInRequired."""
    found = console_of(request).sessions.read(request)
    if found is None:
        raise SignInRequired(json=request.url.path.endswith(".json"))
    return found


def form_ok(request: Request, who: Viewer, csrf: str) -> bool:
    """A state-changing form from this console's own page: same origin, the session's CSRF."""
    return same_origin(request) and console_of(request).sessions.csrf_ok(who, csrf)


async def temporal_client(request: Request) -> Client:
    """The app's Temporal client; ApiError (503) when Temporal is not reachable."""
    client: Client = await request.app.state.temporal.client()
    return client


def unavailable(who: Viewer, request: Request, error: Exception) -> HTMLResponse:
    """The page for a Temporal call that failed: what failed, and to reload in a moment."""
    settings: Settings = request.app.state.settings
    log.warning("console: Temporal call failed: %s", error)
    return render(
        "error.html",
        503,
        viewer=who,
        title="Temporal is not reachable",
        message=f"Temporal at {settings.temporal.address} did not answer or refused: "
        f"{error}. Reload in a moment.",
    )
