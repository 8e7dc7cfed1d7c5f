"""The demo catalog: the old demo's activity names, so its definitions run unchanged.

Every activity is deterministic and fast, and does exactly what its docstring says, no
more: nothing here reaches an external system. Data moves between steps as JSON; the record
activities are in demo_records.py, and CATALOG holds them too. The old demo's names take
loosely typed arguments (`*args: Any`, strings mostly) and the previous step's result as
their first parameter.

`CheckPolicy`, `RequestHumanApproval` and `RequestApproval` are not here: the interpreter
runs them itself (a real policy decision and real governed approvals, see builtin.py).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from temporalio import activity

from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.catalogs import demo_records
from orchestrator.declarative.catalogs.demo_records import (
    current_workflow_id,
    records_of,
    strings_of,
)
from orchestrator.governed.activities import plan

# Where the notification activities write: this demo sends no e-mail or chat message.
notifications = logging.getLogger("orchestrator.notifications")

RESOURCE_NAME = re.compile(r"^[\w.:/@-]{1,200}$")

CATALOG = ActivityCatalog()


@CATALOG.activity("InitializeWorkflow")
async def initialize_workflow(data: Any = None, *settings: Any) -> dict[str, Any]:
    """Records the start of the run: the workflow and run ids and the settings it was given."""
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "run_id": info.workflow_run_id,
        "settings": list(settings),
        "input": data,
    }


@CATALOG.activity("CheckPermissions")
async def check_permissions(data: Any = None, *permissions: Any) -> dict[str, Any]:
    """Lists the permissions the step asks for; grants nothing itself.

    Whether the requester may run this step was decided by OPA (step.execute) before it
    started, like every step's.
    """
    return {
        "requested": [str(permission) for permission in permissions],
        "decided_by": "policy gate (step.execute) before this step ran",
    }


@CATALOG.activity("VerifyResources")
async def verify_resources(data: Any = None, *resources: Any) -> dict[str, Any]:
    """Checks that each named resource is a well-formed name; contacts no system."""
    names = [str(resource) for resource in resources]
    invalid = [name for name in names if not RESOURCE_NAME.match(name)]
    return {"resources": names, "invalid": invalid, "all_valid": not invalid}


def _notification(kind: str, data: Any, args: tuple[Any, ...], default: str) -> dict[str, Any]:
    strings = strings_of(args)
    recipients = [s for s in strings if "@" in s and " " not in s]
    message = " ".join(s for s in strings if s not in recipients) or default
    record = {
        "kind": kind,
        "to": recipients,
        "message": message,
        "workflow_id": current_workflow_id(),
        "delivered_to": "log:orchestrator.notifications",
    }
    notifications.info(
        "%s notification for %s: %s", kind, recipients or ["(nobody named)"], message
    )
    return record


@CATALOG.activity("SendStartNotification")
async def send_start_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a start notification to the `orchestrator.notifications` log; sends nothing.

    String arguments containing @ are the recipients, the others the message.
    """
    return _notification("start", data, args, "The workflow started.")


@CATALOG.activity("SendNotification")
async def send_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a notification to the `orchestrator.notifications` log; sends nothing.

    String arguments containing @ are the recipients, the others the message.
    """
    return _notification("notification", data, args, "Notification from the workflow.")


@CATALOG.activity("SendProgressUpdate")
async def send_progress_update(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a progress update to the `orchestrator.notifications` log; sends nothing."""
    return _notification("progress", data, args, "The workflow is making progress.")


@CATALOG.activity("SendCompletionNotification")
async def send_completion_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a completion notification to the `orchestrator.notifications` log; sends nothing."""
    return _notification("completion", data, args, "The workflow completed.")


def _summary_lines(data: Any) -> list[str]:
    if isinstance(data, list):
        return [f"branch {index + 1}: {_describe(item)}" for index, item in enumerate(data)]
    return [_describe(data)]


def _describe(value: Any) -> str:
    records = records_of(value)
    if records:
        return f"{len(records)} record(s)"
    if isinstance(value, dict):
        return "fields " + ", ".join(sorted(value)[:10]) if value else "empty object"
    if value is None:
        return "nothing"
    return json.dumps(value)[:80]


def _report(data: Any, args: tuple[Any, ...], default_title: str) -> dict[str, Any]:
    strings = strings_of(args)
    return {
        "title": strings[0] if strings else default_title,
        "workflow_id": current_workflow_id(),
        "lines": _summary_lines(data),
    }


@CATALOG.activity("GenerateReport")
async def generate_report(data: Any = None, *args: Any) -> dict[str, Any]:
    """Builds a report (title: the first string argument) summarising the flowing value."""
    return _report(data, args, "Report")


@CATALOG.activity("GenerateFinalReport")
async def generate_final_report(data: Any = None, *args: Any) -> dict[str, Any]:
    """Builds the final report summarising the flowing value (each branch of a parallel)."""
    return _report(data, args, "Final report")


@CATALOG.activity("ExecuteAgentTask")
async def execute_agent_task(data: Any = None, *args: Any) -> dict[str, Any]:
    """Plans the task (the first string argument) into its steps; delivers nothing.

    The governed workflow's agent delivers work orders; this step only plans, the same way.
    """
    strings = strings_of(args)
    task = strings[0] if strings else "(no task given)"
    return {"task": task, "steps": plan(task), "delivered": False}


def _cleanup(args: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "requested": [str(arg) for arg in args],
        "released": [],
        "note": "demo activities hold no resources: nothing to release",
    }


@CATALOG.activity("CleanupTask")
async def cleanup_task(data: Any = None, *args: Any) -> dict[str, Any]:
    """Releases nothing (demo activities keep no state) and says so."""
    return _cleanup(args)


@CATALOG.activity("CleanupResources")
async def cleanup_resources(data: Any = None, *args: Any) -> dict[str, Any]:
    """Releases nothing (demo activities keep no state) and says so."""
    return _cleanup(args)


# The record activities belong to the demo too: one catalog for its definitions.
CATALOG.include(demo_records.CATALOG)
