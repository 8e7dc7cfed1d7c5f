"""A fault-injecting HTTP proxy in front of the real OPA, on loopback.

Passes requests through to OPA unchanged, or misbehaves on demand: answers slowly,
with HTTP 500, with a body that is not JSON, or with an undefined decision (`{}`),
which is what OPA itself answers when the policy is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

MODES = ("pass", "slow", "error", "garbage", "undefined")


@dataclass
class OpaProxy:
    upstream: str
    mode: str = "pass"
    delay_seconds: float = 5.0
    port: int = 0
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
            body = await reader.readexactly(int(headers.get("Content-Length", "0")))
            mode = self.mode
            self.requests[mode] += 1
            if mode == "slow":
                await asyncio.sleep(self.delay_seconds)
            if mode == "error":
                status, payload = 500, b'{"code":"internal_error","message":"injected"}'
            elif mode == "garbage":
                status, payload = 200, b"<html>definitely not a decision</html>"
            elif mode == "undefined":
                status, payload = 200, b'{"decision_id":"injected-undefined"}'
            else:
                async with httpx.AsyncClient(base_url=self.upstream) as upstream:
                    answer = await upstream.request(
                        method,
                        target,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            **{k: v for k, v in headers.items() if k.lower() == "traceparent"},
                        },
                    )
                status, payload = answer.status_code, answer.content
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[OpaProxy]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
