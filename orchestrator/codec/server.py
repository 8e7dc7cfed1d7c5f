"""A codec endpoint for the Temporal Web UI: `orchestrator codec-server`.

The UI posts encrypted payloads to `/decode` (and `/encode`) as protobuf JSON and shows
what comes back. Only callers with one of `tokens` (ORCH_CODEC_TOKENS, comma-separated,
read into Settings.codec_tokens) get plaintext, presented either way:

- as a bearer token (`Authorization: Bearer <token>`): a UI with sign-in sends its user's
  when "pass access token" is set (over https only), or a proxy in front adds one;
- as the path segment before `/decode`: the endpoint `http://127.0.0.1:8089/<token>`, for
  the local dev server's UI, which has no user and so no token to pass. The codec
  protocol allows an endpoint at any depth (only the last segment names the operation),
  and the dev server takes the URL as `--ui-codec-endpoint` (`make up` does this).

Browsers only let the UI read the answers when CORS allows its origin: the configured UI
URL, and for a local UI both of its spellings, `http://localhost:PORT` and
`http://127.0.0.1:PORT` (the dev server prints one, people type the other).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload

from orchestrator.codec.codec import CodecError, EncryptionCodec

MAX_BODY = 4 * 1024 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1")


def allowed_origins(ui_urls: str | Sequence[str]) -> list[str]:
    """The browser origins of the UI(s) at `ui_urls`, the first being the one answered to a
    caller that sent none. A loopback UI gets both its names: same port, either host."""
    origins: list[str] = []
    for url in [ui_urls] if isinstance(ui_urls, str) else ui_urls:
        parts = urlsplit(url.strip())
        if not parts.scheme or not parts.hostname:
            raise CodecError(f"{url!r} is not a URL of the Temporal UI (scheme://host[:port]).")
        port = f":{parts.port}" if parts.port else ""
        hosts = [parts.hostname]  # the configured spelling first
        if parts.hostname in LOOPBACK_NAMES:
            hosts += [name for name in LOOPBACK_NAMES if name != parts.hostname]
        for host in hosts:
            origin = f"{parts.scheme}://{host}{port}"
            if origin not in origins:
                origins.append(origin)
    return origins


def _known(given: str, tokens: Sequence[str]) -> bool:
    return bool(given) and any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens)


def make_server(
    codec: EncryptionCodec,
    tokens: Sequence[str],
    host: str,
    port: int,
    allow_origin: str | Sequence[str],
) -> ThreadingHTTPServer:
    """`allow_origin`: the Temporal UI's URL (or several), whose origins CORS allows."""
    if not tokens:
        raise CodecError("ORCH_CODEC_TOKENS is empty: the codec server never serves without auth.")
    origins = allowed_origins(allow_origin)

    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:
            self._answer(204, None)

        def do_GET(self) -> None:
            # A health check for `make up` and `make status`: says nothing about the keys.
            if self.path.rstrip("/") == "/healthz":
                return self._answer(200, {"status": "ok"})
            self._answer(404, {"error": "POST [/<token>]/decode or /encode"})

        def do_POST(self) -> None:
            prefix, _, operation = self.path.split("?", 1)[0].rstrip("/").rpartition("/")
            transform: Callable[[Payload], Payload] | None = {
                "decode": codec.decrypt,
                "encode": codec.encrypt,
            }.get(operation)
            if transform is None:
                return self._answer(404, {"error": "POST [/<token>]/decode or /encode"})
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            in_path = prefix.rsplit("/", 1)[-1]
            if not (_known(bearer, tokens) or _known(in_path, tokens)):
                return self._answer(
                    401, {"error": "a valid token is required (bearer, or the path's segment)"}
                )
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, {"error": f"body over {MAX_BODY} bytes"})
            try:
                body = json.loads(self.rfile.read(length))
                payloads = [ParseDict(p, Payload()) for p in body["payloads"]]
                result = [MessageToDict(transform(p)) for p in payloads]
            except (ValueError, KeyError, TypeError) as error:
                return self._answer(400, {"error": f"expected {{'payloads': [...]}}: {error}"})
            except CodecError as error:
                return self._answer(422, {"error": str(error)})
            self._answer(200, {"payloads": result})

        def _answer(self, status: int, body: dict[str, Any] | None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            # One origin per answer (the header takes no list): the caller's, when allowed.
            origin = self.headers.get("Origin", "")
            self.send_header(
                "Access-Control-Allow-Origin", origin if origin in origins else origins[0]
            )
            self.send_header("Vary", "Origin")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header(
                "Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace"
            )
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no payloads, decrypted or not, in logs

    return ThreadingHTTPServer((host, port), Handler)
