"""`make demo`: the governed story end to end on the local stack, non-interactively.

Restarts the background worker (so it runs the code in this checkout), runs each
scenario, prints a table, and exits non-zero if any outcome differs from the expected.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError

from orchestrator import starts
from orchestrator.approvals.client import send_decision
from orchestrator.audit import checkpoint, shadow_report
from orchestrator.audit import export as audit_export
from orchestrator.audit.runs import governed_records, started_since
from orchestrator.audit.verify import verify
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.declarative.model import DeclarativeRequest
from orchestrator.declarative.parse import load_file
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.devstack.stack import default_stack
from orchestrator.governed.model import GovernedRequest, GovernedResult, GovernedStatus
from orchestrator.policy.identity import Keyring
from telemetry.tracing import setup_tracing

tracer = trace.get_tracer("orchestrator.devstack.demo")


@dataclass
class Outcome:
    scenario: str
    expected: str
    workflow_id: str
    outcome: str = "?"
    reasons: list[str] = field(default_factory=list)
    decision_id: str = ""
    notes: list[str] = field(default_factory=list)
    # What the candidate (shadow) policy would have decided, when it disagrees.
    shadow: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == self.expected


Scenario = Callable[[Client, Settings], Awaitable[Outcome]]


async def start(
    client: Client,
    settings: Settings,
    prefix: str,
    task: str,
    requester: str,
    kind: str | None = None,
    **params: Any,
) -> WorkflowHandle[Any, GovernedResult]:
    workflow_id = f"demo-{prefix}-{uuid.uuid4().hex[:6]}"
    request = GovernedRequest(task=task, requester=requester, parameters=params, kind=kind)
    # Signed with the requester's development key, as `orchestrator start` signs.
    key = Keyring.load(settings.identity_keys_file).key(requester)
    return await starts.start(
        client, request, key, workflow_id, task_queue=settings.temporal.task_queue
    )


async def wait_for_approval_stage(handle: WorkflowHandle[Any, Any]) -> GovernedStatus:
    for _ in range(300):
        status: GovernedStatus = await handle.query("status", result_type=GovernedStatus)
        if status.stage != "validating" and status.stage != "policy_check":
            return status
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{handle.id} never left the policy gate; is OPA up?")


async def decide(
    handle: WorkflowHandle[Any, Any], kind: str, who: str, comment: str, keys: Keyring
) -> str:
    """Try a decision, signed with `who`'s development key; return what happened in one line."""
    try:
        receipt = await send_decision(handle, kind, keys.key(who), who, comment)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        why = cause.message if isinstance(cause, ApplicationError) else str(cause)
        return f"{who} {kind}: REFUSED - {why}"
    progress = f", {receipt.approvals} of {receipt.quorum}" if kind == "approve" else ""
    return f"{who} {kind}: accepted (decision {receipt.decision_id}{progress})"


async def finish(outcome: Outcome, handle: WorkflowHandle[Any, GovernedResult]) -> Outcome:
    result = await starts.outcome(handle)
    outcome.outcome = result["outcome"]
    # The start decision, whatever happened after it: its reasons and OPA's decision id.
    status: GovernedStatus = await handle.query("status", result_type=GovernedStatus)
    if status.decision:
        outcome.reasons = list(status.decision.reasons)
        outcome.decision_id = status.decision.decision_id
        shadow = status.decision.shadow
        if shadow and not shadow.agrees:
            outcome.shadow.append(
                f"candidate {shadow.policy_revision} would decide {shadow.outcome} "
                f"({'; '.join(shadow.differences) or shadow.error}); not enforced"
            )
    if result["outcome"] not in ("completed", "denied"):
        outcome.reasons.append(result.get("message", ""))
    return outcome


async def risky_approved(client: Client, settings: Settings) -> Outcome:
    handle = await start(
        client,
        settings,
        "approved",
        "Deploy the billing service to production",
        "alice",
        environment="production",
    )
    outcome = Outcome("(a) risky task, approved", "completed", handle.id)
    status = await wait_for_approval_stage(handle)
    outcome.notes.append(f"stage: {status.stage}")
    keys = Keyring.load(settings.identity_keys_file)
    outcome.notes.append(await decide(handle, "approve", "alice", "my own change", keys))
    outcome.notes.append(await decide(handle, "approve", "bob", "change reviewed", keys))
    outcome.notes.append(await decide(handle, "approve", "carol", "second reviewer", keys))
    return await finish(outcome, handle)


async def quorum(client: Client, settings: Settings) -> Outcome:
    """Dual control: a payment needs two distinct approvers; one person twice is not two."""
    handle = await start(
        client, settings, "quorum", "Pay the supplier invoice", "alice", kind="payment"
    )
    outcome = Outcome("(f) payment, quorum of 2", "completed", handle.id)
    status = await wait_for_approval_stage(handle)
    if status.pending_approval:
        view = status.pending_approval
        outcome.notes.append(
            f"policy requires {view.quorum} of roles {', '.join(view.approver_roles)} "
            f"by {view.deadline}; digest {view.digest[:23]}…"
        )
    keys = Keyring.load(settings.identity_keys_file)
    outcome.notes.append(await decide(handle, "approve", "bob", "invoice checked", keys))
    outcome.notes.append(await decide(handle, "approve", "bob", "approving again", keys))
    outcome.notes.append(await decide(handle, "approve", "carol", "second pair of eyes", keys))
    return await finish(outcome, handle)


async def forbidden(client: Client, settings: Settings) -> Outcome:
    handle = await start(
        client, settings, "forbidden", "forbidden: drop the customer database", "alice"
    )
    return await finish(Outcome("(b) forbidden task", "denied", handle.id), handle)


async def low_risk(client: Client, settings: Settings) -> Outcome:
    handle = await start(client, settings, "lowrisk", "Generate the weekly usage report", "alice")
    return await finish(Outcome("(c) low-risk task", "completed", handle.id), handle)


async def rejected(client: Client, settings: Settings) -> Outcome:
    handle = await start(
        client,
        settings,
        "rejected",
        "Rotate the payment gateway credentials",
        "erin",
        environment="production",
    )
    outcome = Outcome("(d) risky task, rejected", "rejected", handle.id)
    await wait_for_approval_stage(handle)
    keys = Keyring.load(settings.identity_keys_file)
    outcome.notes.append(
        await decide(handle, "reject", "carol", "not during the change freeze", keys)
    )
    return await finish(outcome, handle)


async def shadow_candidate(client: Client, settings: Settings) -> Outcome:
    """A payment of 7,000: under the enforcing threshold (10,000), over the candidate's
    (5,000, policies/shadow/). It runs as the enforcing policy says; the shadow records
    that the candidate would have stopped it for approval."""
    handle = await start(
        client, settings, "shadow", "Generate the monthly expense report", "alice", amount=7000
    )
    outcome = Outcome("(g) amount 7,000 under a shadow policy", "completed", handle.id)
    return await finish(outcome, handle)


PIPELINE = REPO_ROOT / "examples" / "definitions" / "data-pipeline.yaml"


async def declarative(client: Client, settings: Settings) -> Outcome:
    """The old demo's YAML format: nested parallel in sequential, data flow, every step
    decided by policy."""
    workflow_id = f"demo-declarative-{uuid.uuid4().hex[:6]}"
    request = DeclarativeRequest(
        definition=load_file(PIPELINE), requester="alice", source=PIPELINE.name
    )
    key = Keyring.load(settings.identity_keys_file).key("alice")
    handle = await starts.start(
        client, request, key, workflow_id, task_queue=settings.temporal.task_queue
    )
    outcome = Outcome("(e) declarative pipeline", "completed", handle.id)
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        outcome.outcome = "failed"
        outcome.reasons = [str(failure.cause)]
        return outcome
    outcome.outcome = "completed"
    decisions = result.decisions
    allowed = sum(1 for d in decisions if d.outcome != "deny")
    outcome.reasons = [
        f"{PIPELINE.name}: {result.completed_steps} steps, {len(decisions)} step decisions "
        f"by policy, {allowed} allowed"
    ]
    outcome.decision_id = decisions[0].decision_id if decisions else ""
    return outcome


SCENARIOS: list[Scenario] = [
    risky_approved,
    forbidden,
    low_risk,
    rejected,
    declarative,
    quorum,
    shadow_candidate,
]


def render(outcomes: list[Outcome], settings: Settings) -> str:
    header = ("scenario", "outcome", "expected", "workflow id", "OPA decision id")
    rows = [(o.scenario, o.outcome, o.expected, o.workflow_id, o.decision_id) for o in outcomes]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    for o in outcomes:
        mark = "ok " if o.ok else "FAIL"
        lines.append(f"[{mark}] {o.scenario}: {o.outcome} (expected {o.expected})")
        lines.append(f"       workflow  {o.workflow_id}")
        for reason in o.reasons:
            lines.append(f"       reason    {reason}")
        for note in o.notes:
            lines.append(f"       approval  {note}")
        for note in o.shadow:
            lines.append(f"       shadow    {note}")
        lines.append(f"       ui        {settings.workflow_link(o.workflow_id)}")
        lines.append(f"       trace     .venv/bin/orchestrator trace {o.workflow_id}")
    return "\n".join(lines)


async def shadow_summary(client: Client, since: str | None, ids: set[str]) -> str:
    """`orchestrator policy shadow-report` over this demo's workflows only."""
    for _ in range(50):  # visibility lists a just-closed workflow a moment later
        records = [r for r in await governed_records(client, since) if r.workflow_id in ids]
        if len(records) >= len(ids):
            break
        await asyncio.sleep(0.2)
    report = shadow_report.render(shadow_report.summarise(records, since))
    return f"{report}\n(all workflows: .venv/bin/orchestrator policy shadow-report --since 1h)"


async def audit_summary(client: Client, settings: Settings, since: str | None) -> str:
    """Export this demo's window, checkpoint it signed, and verify both, as an auditor
    would with `orchestrator audit verify FILE --checkpoints LOG --key PUB`."""
    layout = default_stack().layout
    exported = await audit_export.build(client, since)
    stream = layout.root / "audit-demo.jsonl"
    stream.write_text(exported.text, encoding="utf-8")
    if settings.audit_signing_key_file is None:
        return f"{exported.summary()} to {stream}; not checkpointed (no signing key)"
    key = checkpoint.load_private_key(settings.audit_signing_key_file)
    signed = checkpoint.checkpoint_export(exported.entries, key, settings.audit_checkpoint_log)
    result = verify(stream.read_text(encoding="utf-8").splitlines())
    public = checkpoint.load_public_key(layout.audit_public_key)
    log = checkpoint.read_log(settings.audit_checkpoint_log)
    problems = [*map(str, result.problems), *map(str, checkpoint.check(result, log, public))]
    command = (
        f".venv/bin/orchestrator audit verify {stream} --checkpoints "
        f"{settings.audit_checkpoint_log} --key {layout.audit_public_key}"
    )
    verdict = "ok, as checkpointed and signed" if not problems else "; ".join(problems)
    return "\n".join(
        [
            f"audit      {exported.summary()} to {stream}",
            f"checkpoint {signed['seq']} signed with key {signed['key_id']}, appended to "
            f"{settings.audit_checkpoint_log}",
            f"verify     {verdict}: {command}",
        ]
    )


async def main() -> int:
    settings = Settings.from_env()
    tracing = setup_tracing("orchestrator-demo")
    stack = default_stack()
    for line in [*stack.restart_worker(), *stack.restart_api()]:
        print(line)
    client = await connect(settings.temporal)
    began = started_since(1)
    outcomes = []
    for scenario in SCENARIOS:
        # One root span per scenario, so each has a trace of its own to look at.
        with tracer.start_as_current_span(f"demo {scenario.__name__}"):
            outcomes.append(await scenario(client, settings))
    tracing.shutdown()
    print()
    print(render(outcomes, settings))
    print()
    print(await shadow_summary(client, began, {o.workflow_id for o in outcomes}))
    print()
    print(await audit_summary(client, settings, began))
    failed = [o for o in outcomes if not o.ok]
    print()
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} scenarios as expected.")
    print(stack.console_hint())
    print(
        "The stack, the worker and the console keep running for exploring: `make status`, "
        f"Temporal UI {settings.temporal.ui_url}, Jaeger {settings.jaeger_query_url}. "
        "Stop everything with `make down`."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    code = asyncio.run(main())
    # Leave without interpreter finalisation, as the CLI does (orchestrator/cli/__init__.py):
    # the Temporal SDK's native threads can crash it and turn a pass into exit code 134.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
