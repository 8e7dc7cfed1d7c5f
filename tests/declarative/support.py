"""Building definitions in tests and running them on the test's worker."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle

from orchestrator.config import Settings
from orchestrator.declarative.model import DeclarativeRequest, DeclarativeResult
from tests.support import start_signed


def act(name: str, *args: Any, **fields: Any) -> dict[str, Any]:
    return {"type": "activity", "activityName": name, "args": list(args), **fields}


def seq(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "sequential", "blocks": list(blocks), **fields}


def par(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "parallel", "blocks": list(blocks), **fields}


def approval(**fields: Any) -> dict[str, Any]:
    return {"type": "approval", **fields}


def definition(*blocks: dict[str, Any], name: str = "test-definition") -> dict[str, Any]:
    return {"workflowName": name, "execution": seq(*blocks)}


# A two-step definition of demo activities, as a user would write it (no `args`).
NIGHTLY: dict[str, Any] = {
    "workflowName": "nightly-report",
    "execution": {
        "type": "sequential",
        "blocks": [
            {"type": "activity", "activityName": "InitializeWorkflow"},
            {"type": "activity", "activityName": "GenerateReport"},
        ],
    },
}


async def start(
    client: Client,
    settings: Settings,
    document: dict[str, Any],
    requester: str = "alice",
    **fields: Any,
) -> WorkflowHandle[Any, DeclarativeResult]:
    """Run `document` on the test's task queue, signed by the requester."""
    request = DeclarativeRequest(definition=document, requester=requester, **fields)
    return await start_signed(
        client, settings, request, f"test-declarative-{uuid.uuid4().hex[:12]}"
    )
