"""The processes the browser talks to: `orchestrator api` and `orchestrator worker`.

Both run as operators run them, in processes of their own: each sets up its own tracing,
so the worker's spans (and OPA's under them) reach the stack's Jaeger, which an
in-process worker (tests.support.RunningWorker) never exports to.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import BIN, poll

START_SECONDS = 60.0


@dataclass
class Background:
    """One `orchestrator` command running in the background, its output in `log`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        # SIGTERM drains the worker and flushes spans, as `make down` does.
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.asynccontextmanager
async def background(
    name: str,
    args: list[str],
    env: Mapping[str, str],
    folder: Path,
    ready: Callable[[Background], Awaitable[bool]],
) -> AsyncIterator[Background]:
    """Start `orchestrator ARGS`, wait until `ready` holds, stop it on the way out.

    A process that exits before it is ready fails at once with the end of its log.
    """
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.to_thread(
            subprocess.Popen,
            [str(BIN / "orchestrator"), *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    running = Background(name, process, log)
    try:

        async def look() -> bool:
            if not running.alive():
                raise AssertionError(
                    f"`orchestrator {' '.join(args)}` exited with {process.returncode}:\n"
                    + running.tail()
                )
            return await ready(running)

        try:
            await poll(look, bool, f"{name} ready", START_SECONDS)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {log}:\n{running.tail()}") from None
        yield running
    finally:
        await asyncio.to_thread(running.stop)


async def logged(running: Background, text: str) -> bool:
    return text in (running.log.read_text(errors="replace") if running.log.exists() else "")


async def answers(url: str) -> bool:
    """Whether `url` answers 200 (connection refused while the server starts is not yet)."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(url)).status_code == 200
    except httpx.TransportError:
        return False
