"""What the routes take from a request: the app's state, the authenticated caller (from its
bearer token), a workflow id in the path, and the key the API signs with for the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.auth import FailedAuthLimiter, client_key
from orchestrator.api.config import ApiConfig
from orchestrator.api.errors import BEARER_CHALLENGE, ApiError
from orchestrator.api.temporal import Temporal
from orchestrator.config import Settings
from orchestrator.policy.client import OpaClient
from orchestrator.policy.identity import API_ISSUER, IdentityError, IdentityKey, Keyring

WORKFLOW_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@=+-]{0,254}$"

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="opaque token",
    description="A token configured in ORCH_API_TOKENS or the API config file; its identity "
    "is the requester of what you start and the approver of what you decide.",
)


def read_only_opa(request: Request) -> OpaClient:
    """The app's pooled OPA client for read-only questions ("may the caller decide this?"),
    which the console asks too; the workflows' own decisions are the worker's."""
    opa: OpaClient = request.app.state.console.opa
    return opa


def state(request: Request) -> tuple[Settings, ApiConfig, Temporal]:
    """What `create_app` keeps on the app: the settings, the API config, the client holder."""
    app_state = request.app.state
    return app_state.settings, app_state.api_config, app_state.temporal


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The caller's identity from its bearer token, or 401 with a Bearer challenge; 429
    while the client's address is refused for sending too many wrong tokens."""
    _, config, _ = state(request)
    limiter: FailedAuthLimiter = request.app.state.auth_limiter
    address = client_key(request.client.host if request.client else None)
    # Checked before the token: a refused address must not learn whether a guess is right.
    wait = limiter.retry_after(address)
    if wait is not None:
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many wrong bearer tokens from your address: try again in {wait}s.",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "A bearer token is required: send `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    identity = config.identify(credentials.credentials)
    if identity is None:
        limiter.failed(address)
        raise ApiError(
            401,
            "unauthorized",
            "The bearer token is not valid.",
            headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
        )
    return identity


Caller = Annotated[str, Depends(caller)]
WorkflowId = Annotated[str, Path(pattern=WORKFLOW_ID_PATTERN, description="A workflow id.")]


def api_key(settings: Settings, what: str) -> IdentityKey:
    """The key the API signs with for the callers it authenticated; 503 without one."""
    try:
        return Keyring.load(settings.identity_keys_file).key(API_ISSUER)
    except IdentityError as error:
        raise ApiError(
            503, "unavailable", f"{what} through the API are not configured: {error}"
        ) from None
