"""Console sessions: sign-in with an API token, a signed cookie, CSRF tokens, sign-out.

The cookie `orch_console` holds the identity, when it was issued and a random session id,
signed with ORCH_CONSOLE_SECRET (itsdangerous); the token itself is never stored. The
server judges expiry from the issued-at it signed, not from the cookie's Max-Age, which
the browser alone enforces. Signed-out session ids are remembered (in memory, until they
would have expired anyway), so a copy of the cookie taken before sign-out is refused too.

A form's CSRF token is HMAC(secret, session id): it changes with every session, and a
page of another origin can neither read it nor (SameSite=Strict) send the cookie. The
sign-in form, which comes before any session, carries HMAC(secret, nonce) of a nonce
the sign-in page sets in its own short-lived cookie (double submit): another site can
neither make the browser sign in with the attacker's token (login CSRF) nor read the form.
Wrong tokens at sign-in count against the API's own per-address limiter.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from orchestrator.api.auth import FailedAuthLimiter, client_key
from orchestrator.api.config import ApiConfig

COOKIE = "orch_console"
SIGN_IN_COOKIE = "orch_console_sign_in"
SIGN_IN_SECONDS = 15 * 60
PATH = "/console"
SALT = "orchestrator.console.session"


@dataclass(frozen=True)
class Viewer:
    """Who a valid session says is looking, and the CSRF token their forms carry."""

    identity: str
    session_id: str
    issued_at: float
    csrf: str


class SignInRefused(Exception):
    """A sign-in that did not happen; `status` is the HTTP status, `retry_after` for 429."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Sessions:
    """Issues, reads and ends sessions for one app (one secret, one lifetime)."""

    def __init__(
        self,
        config: ApiConfig,
        limiter: FailedAuthLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.limiter = limiter
        self.lifetime = config.console_session_seconds
        self._secret = config.console_secret.encode()
        self._serializer = URLSafeSerializer(config.console_secret, salt=SALT)
        self._clock = clock
        # Session id -> when it would have expired: ended sessions stay refused.
        self._ended: dict[str, float] = {}

    def sign_in(self, request: Request, token: str) -> str:
        """The identity of `token`, or SignInRefused (401 wrong, 429 while limited)."""
        address = client_key(request.client.host if request.client else None)
        # Asked before the token is checked: a limited address learns nothing from a guess.
        wait = self.limiter.retry_after(address)
        if wait is not None:
            raise SignInRefused(
                429, f"Too many wrong tokens from your address: try again in {wait}s.", wait
            )
        identity = self.config.identify(token) if token else None
        if identity is None:
            if token:
                self.limiter.failed(address)
            raise SignInRefused(401, "That token is not valid. Paste an API token you were given.")
        return identity

    def cookie_value(self, identity: str, issued_at: float | None = None) -> str:
        """A new session for `identity` (issued now unless `issued_at` says otherwise)."""
        session = {
            "sub": identity,
            "iat": self._clock() if issued_at is None else issued_at,
            "sid": secrets.token_urlsafe(18),
        }
        return self._serializer.dumps(session)

    def set_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.lifetime),
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def read(self, request: Request) -> Viewer | None:
        """The viewer of a valid, unexpired, not ended session; None for anything else."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            session: Any = self._serializer.loads(raw)
        except BadSignature:
            return None
        if not isinstance(session, dict):
            return None
        identity, issued_at, session_id = session.get("sub"), session.get("iat"), session.get("sid")
        if not (isinstance(identity, str) and isinstance(session_id, str)):
            return None
        if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
            return None
        now = self._clock()
        # A cookie from the future (clock skew aside) was not issued by this server's clock.
        if not issued_at - 60 <= now < issued_at + self.lifetime:
            return None
        if session_id in self._ended:
            return None
        return Viewer(identity, session_id, float(issued_at), self.csrf_token(session_id))

    def end(self, viewer: Viewer, response: Response) -> None:
        """Sign out: the cookie is cleared and its session id refused from now on."""
        now = self._clock()
        self._ended = {sid: until for sid, until in self._ended.items() if until > now}
        self._ended[viewer.session_id] = viewer.issued_at + self.lifetime
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")

    def sign_in_form(self, request: Request) -> tuple[str, str]:
        """A new nonce for the sign-in page's cookie, and the CSRF token its form carries."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self._sign_in_token(nonce)

    def set_sign_in_cookie(self, request: Request, response: Response, nonce: str) -> None:
        response.set_cookie(
            SIGN_IN_COOKIE,
            nonce,
            max_age=SIGN_IN_SECONDS,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def sign_in_form_ok(self, request: Request, given: str | None) -> bool:
        """The sign-in form came from our sign-in page, in this browser."""
        nonce = request.cookies.get(SIGN_IN_COOKIE)
        if not nonce or not isinstance(given, str):
            return False
        return hmac.compare_digest(self._sign_in_token(nonce), given)

    def _sign_in_token(self, nonce: str) -> str:
        return hmac.new(self._secret, f"sign-in:{nonce}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._secret, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, viewer: Viewer, given: str | None) -> bool:
        return isinstance(given, str) and hmac.compare_digest(viewer.csrf, given)


def same_origin(request: Request) -> bool:
    """False when the browser says the form came from another origin (Origin header).

    Browsers send Origin on every POST; a request without it (curl, old clients) is
    judged by its session and CSRF token alone.
    """
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"
