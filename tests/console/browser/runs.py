"""The runs a browser test asks for, started as their requester would start them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from orchestrator.config import Settings
from orchestrator.governed.model import GovernedResult
from tests.support import start_governed


@dataclass
class Requests:
    """Governed runs the test starts on the console's queue, signed by their requester;
    those still open at the end are terminated, so no later inbox lists them."""

    client: Client
    settings: Settings
    started: list[WorkflowHandle[Any, GovernedResult]] = field(default_factory=list)

    async def start(
        self, task: str, requester: str = "alice", **fields: Any
    ) -> WorkflowHandle[Any, GovernedResult]:
        handle = await start_governed(self.client, self.settings, task, requester, **fields)
        self.started.append(handle)
        return handle

    async def close(self) -> None:
        for handle in self.started:
            with contextlib.suppress(RPCError):
                await handle.terminate("the browser test is over")
