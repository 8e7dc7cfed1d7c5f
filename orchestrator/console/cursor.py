"""The "Next page" cursor: Temporal's page token, signed for the query it pages.

Temporal answers a token it cannot read with an internal error that its client retries
for seconds, so only tokens the console handed out reach it: a cursor is the token and
the query it belongs to, signed with the console's secret. An unsigned, altered or
other-query cursor opens to None, and the page is found by skipping instead.
"""

from __future__ import annotations

import base64
import hashlib

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "orchestrator.console.cursor"


class Cursors:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def seal(self, query: str, token: bytes | None) -> str:
        """The cursor of the page after this one; "" when there is none."""
        if not token:
            return ""
        return self._serializer.dumps([_digest(query), base64.b64encode(token).decode()])

    def open(self, query: str, cursor: str | None) -> bytes | None:
        """The page token in `cursor`, if the console signed it for `query`."""
        if not cursor:
            return None
        try:
            digest, token = self._serializer.loads(cursor)
            if digest != _digest(query):
                return None
            return base64.b64decode(token, validate=True) or None
        except (BadSignature, TypeError, ValueError):
            return None


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]
