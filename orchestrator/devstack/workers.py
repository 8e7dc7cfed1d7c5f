"""Which workers poll the local stack's task queue: what `make up` and `make status` say.

`make up` starts no worker, and without one every run waits and every query or update
fails; so both commands name the workers Temporal sees polling, whoever started them
(`make worker` in a terminal, `make demo`'s background worker, a container), or say how
to start one. Temporal remembers a poller for minutes after it stopped: one that names a
process of this host that has exited is left out.

The question goes to the dev server's HTTP API (DescribeTaskQueue, as
`orchestrator.connection.pollers` asks it over gRPC): a short-lived command that made a
gRPC client can abort at exit while the SDK core's threads are still winding down.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from orchestrator.config import TemporalSettings
from orchestrator.devstack import process
from orchestrator.devstack.stack import LocalStack

ASK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Polling:
    """The workers polling `task_queue` lately; None when Temporal could not be asked."""

    task_queue: str
    identities: list[str] | None


def polling(stack: LocalStack) -> Polling:
    """Ask the stack's Temporal who polls the task queue a worker here would poll
    (TEMPORAL_TASK_QUEUE, TEMPORAL_NAMESPACE, as `make worker` reads them)."""
    task_queue = os.environ.get("TEMPORAL_TASK_QUEUE", "").strip() or TemporalSettings.task_queue
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "").strip() or TemporalSettings.namespace
    url = (
        f"http://127.0.0.1:{stack.ports.temporal_http}/api/v1/namespaces/{quote(namespace)}"
        f"/task-queues/{quote(task_queue, safe='')}"
    )
    try:
        answer = httpx.get(
            url, params={"taskQueueType": "TASK_QUEUE_TYPE_WORKFLOW"}, timeout=ASK_TIMEOUT_S
        )
        answer.raise_for_status()
        identities = [
            str(poller.get("identity", "")) for poller in answer.json().get("pollers", [])
        ]
    except (httpx.HTTPError, ValueError, AttributeError):
        return Polling(task_queue, None)
    return Polling(task_queue, [each for each in identities if not _exited_here(each)])


def _exited_here(identity: str) -> bool:
    """Whether `identity` is the SDK's default `pid@host` of a process here that is gone."""
    pid, _, host = identity.partition("@")
    return host == socket.gethostname() and pid.isdigit() and not process.is_alive(int(pid))


def describe(seen: Polling, background_pid: int | None) -> str:
    """One line for `make status` and `make up`."""
    queue = f"task queue {seen.task_queue!r}"
    if seen.identities is None:
        return f"workers: unknown (Temporal did not answer who polls {queue})"
    if not seen.identities:
        return (
            f"workers: none polling {queue}: runs wait and status/approve fail until one "
            "does; `make worker` runs one in the foreground (`make demo` starts one in the "
            "background)"
        )
    names = [
        f"{identity} (the background worker)"
        if background_pid is not None and identity.startswith(f"{background_pid}@")
        else identity
        for identity in seen.identities
    ]
    return f"workers: {len(names)} polling {queue}: {', '.join(names)}"
