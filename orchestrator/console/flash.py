"""The result of a decision, carried across the 303 redirect back to the page.

A signed cookie that lives a minute and is read once: it holds only the text shown (the
outcome and the policy's words), never a token, and a reload does not show it again.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from orchestrator.console.session import PATH

COOKIE = "orch_console_flash"
LIFETIME_SECONDS = 60
SALT = "orchestrator.console.flash"

Kind = Literal["ok", "refused", "error"]


class Flash:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)

    def set(self, request: Request, response: Response, kind: Kind, text: str) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps({"kind": kind, "text": text[:2000]}),
            max_age=LIFETIME_SECONDS,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def read(self, request: Request) -> dict[str, str] | None:
        """The message waiting for this page, if any (`clear` it on the page's response)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            message = self._serializer.loads(raw, max_age=LIFETIME_SECONDS)
        except BadSignature:
            return None
        if not isinstance(message, dict):
            return None
        return {"kind": str(message.get("kind", "ok")), "text": str(message.get("text", ""))}

    def clear(self, request: Request, response: Response) -> None:
        """Shown once: the page that showed the message deletes it."""
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
