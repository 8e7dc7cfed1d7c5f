"""Idempotency-Key: the same key from the same caller names the same workflow, so a repeat
starts nothing new and answers what the first one started (or 409 for another body)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import Header
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orchestrator.api.errors import ApiError
from orchestrator.api.models import Started
from orchestrator.config import Settings
from orchestrator.vocabulary import TRACE_ID

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
# The memo entry holding the request's fingerprint, to tell a repeat from a reused key.
FINGERPRINT_MEMO = "api_request_sha256"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Repeat a request with the same key and it starts nothing new: the answer "
        'names the workflow the first one started, with "duplicate": true.',
    ),
]


def fingerprint_of(*parts: Any) -> str:
    """The SHA-256 of a request's parts (as sorted JSON): equal bodies, equal fingerprints."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def workflow_id_for(prefix: str, caller: str, scope: str, key: str | None) -> str:
    """`<prefix>-<sha256(caller, scope, key)[:24]>` for a key (the same key, the same id);
    `<prefix>-<random>` without one. Keys are per caller: two callers never collide."""
    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:24]}"
    digest = hashlib.sha256(f"{caller}\n{scope}\n{key}".encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"


async def duplicate(
    client: Client,
    settings: Settings,
    workflow_id: str,
    fingerprint: str,
    already: WorkflowAlreadyStartedError,
) -> Started:
    """The answer to a repeated key: the workflow it started, or 409 when the first request
    with this key was a different one."""
    trace_id = None
    run_id = already.first_run_id or already.run_id
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
        earlier = await description.memo_value(FINGERPRINT_MEMO, None)
        trace_id = description.typed_search_attributes.get(TRACE_ID)
        run_id = run_id or description.run_id
    except RPCError:
        earlier = fingerprint  # gone meanwhile (retention): nothing left to compare with
    if earlier != fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            "This Idempotency-Key already started a workflow with a different request; "
            "use a new key for a new request.",
            field="header.idempotency-key",
            workflow_id=workflow_id,
        )
    return Started(
        workflow_id=workflow_id,
        run_id=run_id,
        duplicate=True,
        trace_id=trace_id,
        status_url=f"/v1/workflows/{workflow_id}",
        temporal_ui=settings.workflow_link(workflow_id),
    )
