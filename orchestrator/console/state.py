"""What the console keeps per app (`app.state.console`) and how a route gets the viewer."""

from __future__ import annotations

from fastapi import Request

from orchestrator.api.auth import FailedAuthLimiter
from orchestrator.api.config import ApiConfig
from orchestrator.config import Settings
from orchestrator.console.flash import Flash
from orchestrator.console.session import Sessions, Viewer
from orchestrator.policy.client import OpaClient

SIGN_IN = "/console/sign-in"


class Console:
    """What the console keeps on the app (`app.state.console`)."""

    def __init__(self, settings: Settings, config: ApiConfig, limiter: FailedAuthLimiter) -> None:
        self.settings = settings
        self.sessions = Sessions(config, limiter)
        self.flash = Flash(config.console_secret)
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
