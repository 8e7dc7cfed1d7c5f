"""A codec endpoint for the Temporal Web UI: `orchestrator codec-server`.

The UI posts encrypted payloads to `/decode` (and `/encode`) as protobuf JSON and shows
what comes back. Only callers with one of `tokens` (ORCH_CODEC_TOKENS, comma-separated,
read into Settings.codec_tokens) get plaintext; the UI sends it when "pass access token"
is set, or put a proxy in front.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload

from orchestrator.codec.codec import CodecError, EncryptionCodec

MAX_BODY = 4 * 1024 * 1024


def make_server(
    codec: EncryptionCodec, tokens: Sequence[str], host: str, port: int, allow_origin: str
) -> ThreadingHTTPServer:
    if not tokens:
        raise CodecError("ORCH_CODEC_TOKENS is empty: the codec server never serves without auth.")

    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:
            self._answer(204, None)

        def do_POST(self) -> None:
            transform: Callable[[Payload], Payload] | None = {
                "/decode": codec.decrypt,
                "/encode": codec.encrypt,
            }.get(self.path.rstrip("/"))
            if transform is None:
                return self._answer(404, {"error": "POST /decode or /encode"})
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens):
                return self._answer(401, {"error": "a valid bearer token is required"})
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
            self.send_header("Access-Control-Allow-Origin", allow_origin)
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
