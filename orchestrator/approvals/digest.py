"""The digest an approval is bound to: SHA-256 of the canonical JSON of what is approved.

Also the subjects start credentials vouch for, digested the same way. Canonical JSON is
orchestrator/policy/canonical.py's. Pure: safe inside workflow code.
"""

from __future__ import annotations

import hashlib
from typing import Any

from orchestrator.policy.canonical import canonical_json


def digest(value: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of `value`."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def task_subject(workflow_id: str, description: str, kind: str | None, parameters: Any) -> Any:
    """What a governed workflow's approver approves: this workflow running this task."""
    return {
        "workflow_id": workflow_id,
        "task": {"description": description, "kind": kind, "parameters": parameters},
    }


def step_subject(workflow_id: str, path: str, activity: str, args: Any) -> Any:
    """What a declarative step's approver approves: this step with these arguments."""
    return {"workflow_id": workflow_id, "step": {"path": path, "activity": activity, "args": args}}


def governed_start_subject(
    requester: str, description: str, kind: str | None, parameters: Any, options: Any
) -> Any:
    """What a governed start credential vouches for: who asks for which task, how governed.

    No workflow id: a schedule's credential covers every run, each with an id of its own.
    """
    return {
        "start": {
            "requester": requester,
            "task": {"description": description, "kind": kind, "parameters": parameters},
            "options": options,
        }
    }


def definition_start_subject(requester: str, definition: Any) -> Any:
    """What a declarative start credential vouches for: who asks to run which document."""
    return {"start": {"requester": requester, "definition": definition}}
