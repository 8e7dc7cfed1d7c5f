"""The declarative scenarios `python -m tests.replay.record declarative TAG` records, with
the example definitions (deployed catalogs only, so replaying needs no test activities):
tests/histories/declarative_<scenario>_<TAG>.json."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from temporalio.client import WorkflowFailureError, WorkflowHandle

from orchestrator.declarative.model import DeclarativeResult, DeclarativeStatus
from orchestrator.declarative.parse import load_file
from tests.declarative.support import act, approval, definition, start
from tests.support import HISTORIES, REPO, RunningWorker, decide, status_of, wait_for_pending

EXAMPLES = REPO / "examples" / "definitions"


async def scenarios(worker: RunningWorker, tag: str) -> list[Path]:
    client, settings = worker.client, worker.settings
    # Approvals are signed with the recording stack's development keys.
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(settings.identity_keys_file)
    written: list[Path] = []

    pipeline = await start(client, settings, load_file(EXAMPLES / "data-pipeline.yaml"))
    await pipeline.result()
    written.append(await save(pipeline, f"pipeline_{tag}"))

    # Two approvals: the one CheckPolicy's decision requires (dual control, production),
    # then the definition's own approval step; alice's own attempt is refused each time.
    release = await start(client, settings, load_file(EXAMPLES / "governed-release.yaml"))
    for _ in range(2):
        [pending] = (await wait_for_pending(release)).pending_approvals
        for approver in ("alice", "bob", "carol"):
            try:
                await decide(release, "approve", approver, "recorded", step=pending.path)
            except Exception as refused:
                print(f"release: {approver} at {pending.path}: {refused}")
            if not (await status_of(release, DeclarativeStatus)).pending_approvals:
                break
    await release.result()
    written.append(await save(release, f"release_{tag}"))

    # An approval as the very first step: its patch is asked in the first workflow task.
    first = await start(
        client,
        settings,
        definition(approval(description="approve before anything runs"), name="approval-first"),
        "erin",
    )
    await wait_for_pending(first)
    await decide(first, "reject", "carol", "recorded")
    with contextlib.suppress(WorkflowFailureError):
        await first.result()
    written.append(await save(first, f"approval_first_{tag}"))

    # CheckPolicy whose decision requires approval (dual control) waits for two people.
    checked = await start(
        client,
        settings,
        definition(
            act("CheckPolicy", "Deploy billing", {"environment": "production"}),
            name="check-policy-approval",
        ),
    )
    [pending] = (await wait_for_pending(checked)).pending_approvals
    for approver in ("bob", "carol"):
        await decide(checked, "approve", approver, "recorded", step=pending.path)
    await checked.result()
    written.append(await save(checked, f"check_policy_approval_{tag}"))

    continued = await start(
        client, settings, load_file(EXAMPLES / "legacy-flat.yaml"), "erin", steps_per_run=2
    )
    result: DeclarativeResult = await continued.result()
    first_run = result.summary.earlier_runs[0]
    first = client.get_workflow_handle(continued.id, run_id=first_run)
    written.append(await save(first, f"continued_run1_{tag}"))
    written.append(await save(continued, f"continued_last_{tag}"))
    return written


async def save(handle: WorkflowHandle[object, object], name: str) -> Path:
    path = HISTORIES / f"declarative_{name}.json"
    path.write_text((await handle.fetch_history()).to_json())
    return path
