"""Traces survive restarts: the local Jaeger keeps them in its Badger store under the
stack's data folder (`.data/jaeger` for `make up`), and compose.yaml does the same on a
volume.

The restart test runs a stack of its own in a temporary folder (restarting the session's
would break other tests mid-call): a governed run with a worker process and the CLI, its
trace read from Jaeger and through the console's `load_trace`, then `down` and `up` on
the same folder and ports, and the same trace read again.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.console.trace_view import TraceView, load_trace
from orchestrator.devstack import Binaries, LocalStack, Ports, StackError, StackLayout, process
from orchestrator.devstack.services import JAEGER_CONFIG
from telemetry.jaeger import Span, fetch_trace
from tests.support import BIN, REPO

SERVICES = {"orchestrator-cli", "orchestrator-worker", "opa"}


@pytest.fixture
async def own_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    try:
        binaries = Binaries.locate()
    except StackError as error:
        pytest.fail(str(error), pytrace=False)
    own = LocalStack(Ports.free(), StackLayout(root=tmp_path / "data"), binaries, False)
    try:
        await asyncio.to_thread(own.up)
    except StackError as error:
        pytest.fail(f"could not start the test's own stack: {error}", pytrace=False)
    try:
        yield own
    finally:
        await asyncio.to_thread(own.down)


async def governed_run(own: LocalStack, task_queue: str) -> dict[str, Any]:
    """`orchestrator start ... --wait` as an operator runs it: its trace holds the CLI's,
    the worker's and OPA's spans, and the run records the trace id."""
    done = await asyncio.to_thread(
        subprocess.run,
        [
            str(BIN / "orchestrator"),
            "start",
            "--task",
            "Generate the weekly usage report",
            "--requester",
            "alice",
            "--wait",
            "--json",
        ],
        env={**os.environ, **own.client_env(), "TEMPORAL_TASK_QUEUE": task_queue},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    assert outcome["outcome"] == "completed", outcome
    return outcome


async def console_view(own: LocalStack, workflow_id: str) -> TraceView:
    settings = Settings.from_env(own.client_env())
    return await load_trace(settings, await connect(settings.temporal), workflow_id)


def opa_under_http(view: TraceView) -> list[str]:
    """For each OPA span, the name and service of the span it hangs under."""
    assert view.tree is not None
    return [
        f"{parent.name} ({parent.service})"
        for parent in view.tree.walk()
        for child in parent.children
        # The decision's own POSTs; the client's fingerprint reads (GET /v1/policies) aside.
        if child.service == "opa" and parent.subject in ("enforcing", "shadow", "enforcing+shadow")
    ]


def ids(spans: list[Span]) -> list[str]:
    return sorted(span.span_id for span in spans)


@pytest.mark.integration
async def test_a_runs_trace_survives_a_stack_restart(own_stack: LocalStack) -> None:
    own = own_stack
    task_queue = f"restart-{uuid.uuid4().hex[:8]}"
    worker = replace(own.worker, env={**own.worker.env, "TEMPORAL_TASK_QUEUE": task_queue})
    await asyncio.to_thread(process.start_all, [worker], own.layout)
    outcome = await governed_run(own, task_queue)
    trace_id, workflow_id = outcome["trace_id"], outcome["workflow_id"]
    before = await fetch_trace(
        own.jaeger_query_url, trace_id, wait_seconds=30, expect_services=SERVICES
    )
    view = await console_view(own, workflow_id)
    assert view.found, view.message
    assert (view.trace_id, view.span_count) == (trace_id, len(before))
    assert opa_under_http(view) == ["POST (orchestrator-worker)"]
    assert (own.layout.jaeger / "keys").is_dir() and (own.layout.jaeger / "values").is_dir()

    began = time.monotonic()
    await asyncio.to_thread(own.down)
    await asyncio.to_thread(own.up)
    restart_seconds = time.monotonic() - began

    after = await fetch_trace(
        own.jaeger_query_url,
        trace_id,
        wait_seconds=15,
        min_spans=len(before),
        settle_seconds=0,
    )
    assert ids(after) == ids(before)
    again = await console_view(own, workflow_id)
    assert again.found, again.message
    assert again.span_count == len(before)
    assert opa_under_http(again) == ["POST (orchestrator-worker)"]
    # Blocks in use: Badger's files are sparse (a value log is 1 GiB until written).
    used = sum(path.stat().st_blocks * 512 for path in own.layout.jaeger.rglob("*"))
    print(
        f"\ntrace {trace_id}: {len(before)} spans before the restart, {len(after)} after; "
        f"down+up took {restart_seconds:.1f} s; Badger uses {used / 1024:.0f} KiB on disk"
    )


def test_the_local_stack_keeps_traces_in_badger_under_its_data_folder(tmp_path: Path) -> None:
    config = yaml.safe_load(JAEGER_CONFIG.read_text())
    backends = config["extensions"]["jaeger_storage"]["backends"]
    [(name, backend)] = backends.items()
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] == name
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] == name
    badger = backend["badger"]
    assert badger["ephemeral"] is False
    assert badger["directories"] == {
        "keys": "${env:JAEGER_BADGER_DIR}/keys",
        "values": "${env:JAEGER_BADGER_DIR}/values",
    }
    assert badger["ttl"]["spans"] == "${env:JAEGER_TRACE_RETENTION:-72h}"

    layout = StackLayout(root=tmp_path)
    jaeger = LocalStack(Ports(), layout, binaries_for_specs(tmp_path)).service("jaeger")
    assert jaeger.env["JAEGER_BADGER_DIR"] == str(tmp_path / "jaeger")
    assert jaeger.env["JAEGER_LISTEN_HOST"] == "127.0.0.1"


def test_compose_runs_the_same_config_with_a_volume() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    jaeger = compose["services"]["jaeger"]
    mounts = [str(volume) for volume in jaeger["volumes"]]
    config = f"./{JAEGER_CONFIG.relative_to(REPO)}:/etc/jaeger/config.yaml:ro"
    assert config in mounts
    assert jaeger["command"] == ["--config", "/etc/jaeger/config.yaml"]
    env = jaeger["environment"]
    volume, _, target = next(m for m in mounts if not m.startswith(".")).partition(":")
    assert volume in compose["volumes"], f"{volume} is not a named volume"
    assert env["JAEGER_BADGER_DIR"].startswith(target + "/")
    assert "JAEGER_TRACE_RETENTION" in env


def binaries_for_specs(folder: Path) -> Binaries:
    """Paths only: building the service specs runs nothing."""
    return Binaries(temporal=folder / "temporal", opa=folder / "opa", jaeger=folder / "jaeger")
