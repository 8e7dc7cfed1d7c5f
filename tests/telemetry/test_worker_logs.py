"""Everything a worker process writes is one JSON object a line, Temporal outage included.

The worker runs as `orchestrator worker`, as deployed; the outage is a dev server of the
test's own that is stopped under it, so the SDK core (Rust) has something to warn about.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.devstack import LocalStack
from tests.support import private_temporal

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WorkerProcess:
    """`orchestrator worker` with stdout and stderr read line by line as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(BIN / "orchestrator"), "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        """Every line so far as JSON; fails on the first line that is not."""
        return [json.loads(line) for line in list(self.lines)]

    async def wait_for(
        self, what: str, match: Callable[[dict[str, Any]], bool], seconds: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for record in self.records():
                if match(record):
                    return record
            assert self.process.poll() is None, f"worker exited before {what}:\n{self.output}"
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {what} within {seconds:.0f}s:\n{self.output}")

    def exited(self, seconds: float = 60) -> int:
        """The exit code of a worker that ends by itself."""
        code = self.process.wait(timeout=seconds)
        self._reader.join(timeout=10)
        return code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(timeout=10)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def worker_env(stack: LocalStack, tmp_path: Path, temporal_address: str) -> dict[str, str]:
    return {
        **os.environ,
        **stack.client_env(),
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": f"logs-{uuid.uuid4().hex[:8]}",
        # Prometheus on: the runtime that serves it is the one that forwards the core's logs.
        "ORCH_METRICS_PORT": str(free_port()),
        "ORCH_AGENT_OUTBOX": str(tmp_path / "outbox"),
    }


async def test_a_worker_losing_temporal_logs_the_core_warnings_as_json(
    stack: LocalStack, tmp_path: Path
) -> None:
    async with private_temporal(stack, tmp_path / "temporal") as own:
        worker = WorkerProcess(worker_env(stack, tmp_path, own.temporal_address))
        try:
            await worker.wait_for(
                "worker start", lambda r: r["message"].startswith("worker polling"), 60
            )
            await asyncio.to_thread(own.stop, "temporal")
            # The core retries each poll a few times (some seconds) before it warns.
            core = await worker.wait_for(
                "core warning",
                lambda r: r["logger"] == "temporalio.core" and r["level"] == "WARNING",
                90,
            )
        finally:
            code = worker.stop()

    records = worker.records()  # every line, to the last one, parses
    assert records, worker.output
    assert "\x1b[" not in worker.output  # no terminal colours
    assert code == 0, worker.output
    assert core["service"] == "orchestrator-worker"
    assert core["core_target"].startswith("temporalio_")
    assert core["message"] and "sdk_core" not in core["message"]
    assert isinstance(core.get("core_fields"), dict)
    assert {"ts", "level", "logger", "message", "service"} <= core.keys()


async def test_a_worker_without_temporal_says_so_in_one_json_line(
    stack: LocalStack, tmp_path: Path
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    worker = WorkerProcess(worker_env(stack, tmp_path, nowhere))
    code = await asyncio.to_thread(worker.exited)

    records = worker.records()
    assert code == 1, worker.output
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1, worker.output
    assert errors[0]["logger"] == "orchestrator.worker"
    assert errors[0]["message"].startswith(f"cannot reach Temporal at {nowhere} (")
    assert errors[0]["service"] == "orchestrator-worker"
