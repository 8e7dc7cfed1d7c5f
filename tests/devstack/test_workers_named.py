"""`make up` starts no worker and says so; `make status` names the workers Temporal sees,
one run in the foreground (`make worker`) included, and forgets one that exited."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from orchestrator.devstack import LocalStack
from tests.support import BIN, poll

pytestmark = pytest.mark.integration


def devstack(stack: LocalStack, queue: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m orchestrator.devstack ...` (what `make up`/`make status` run) on the
    session's stack: its ports and its state folder, for the task queue `queue`."""
    env = {
        **os.environ,
        **{f"ORCH_{name.upper()}_PORT": str(port) for name, port in asdict(stack.ports).items()},
        "TEMPORAL_TASK_QUEUE": queue,
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.devstack", *args, "--data", str(stack.layout.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def workers_line(result: subprocess.CompletedProcess[str]) -> str:
    [line] = [line for line in result.stdout.splitlines() if line.startswith("workers:")]
    return line


async def test_up_says_no_worker_polls_and_how_to_start_one(stack: LocalStack) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    up = await asyncio.to_thread(devstack, stack, queue, "up")
    assert up.returncode == 0, up.stderr
    assert up.stdout.count("already running") == 3, up.stdout
    line = workers_line(up)
    assert f"none polling task queue '{queue}'" in line
    assert "`make worker`" in line and "`make demo`" in line
    # `make worker` and `make demo` start one next: their `up` keeps quiet about it.
    quiet = await asyncio.to_thread(devstack, stack, queue, "up", "--starting-worker")
    assert quiet.returncode == 0, quiet.stderr
    assert "workers:" not in quiet.stdout


async def test_status_names_a_foreground_worker_until_it_exits(
    stack: LocalStack, tmp_path: Path
) -> None:
    queue = f"foreground-{uuid.uuid4().hex[:8]}"
    # As `make worker` runs it: `orchestrator worker` in the caller's terminal, no pid file.
    worker = await asyncio.create_subprocess_exec(
        str(BIN / "orchestrator"),
        "worker",
        env={
            **os.environ,
            **stack.client_env(),
            "TEMPORAL_TASK_QUEUE": queue,
            "ORCH_METRICS_PORT": "0",
            "ORCH_AGENT_OUTBOX": str(tmp_path / "outbox"),
            "OTEL_SDK_DISABLED": "true",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    identity = f"{worker.pid}@{socket.gethostname()}"
    try:
        status = await poll(
            lambda: asyncio.to_thread(devstack, stack, queue, "status"),
            lambda result: identity in result.stdout,
            f"`make status` naming the worker {identity}",
            seconds=60,
        )
        assert status.returncode == 0, status.stdout
        assert workers_line(status) == f"workers: 1 polling task queue '{queue}': {identity}"
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 30)
    # Temporal still lists the poller for minutes; status knows the process is gone.
    after = await asyncio.to_thread(devstack, stack, queue, "status")
    assert f"none polling task queue '{queue}'" in workers_line(after), after.stdout
