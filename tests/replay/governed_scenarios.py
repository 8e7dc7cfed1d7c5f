"""Record the histories that tests/replay replays: `python -m tests.histories.record [TAG]`.

Starts its own stack on free ports, runs the governed scenarios, and writes one JSON
history per scenario to tests/histories/governed_<scenario>_<TAG>.json. Record again
only when workflow code changed *with* a patch, keeping the old files: both must replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from pathlib import Path

from temporalio.client import WorkflowFailureError

from tests.support import RunningWorker, decide, recording_worker, wait_for_stage

HERE = Path(__file__).parent


async def record(tag: str) -> list[Path]:
    async with recording_worker() as worker:
        return await run_scenarios(worker, tag)


async def run_scenarios(worker: RunningWorker, tag: str) -> list[Path]:
    # Approvals are signed with the recording stack's development keys.
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(worker.settings.identity_keys_file)
    written = []
    risky = "Deploy the billing service to production"
    scenarios = {
        "lowrisk": ("Generate the weekly usage report", "alice", {}, []),
        "denied": ("forbidden: drop the customer database", "alice", {}, []),
        "approved": (
            risky,
            "alice",
            {"environment": "production"},
            # Production: two distinct approvers since bound approvals (v4).
            [("approve", "alice"), ("approve", "bob"), ("approve", "carol")],
        ),
        "rejected": (risky, "alice", {"environment": "production"}, [("reject", "carol")]),
    }
    for name, (task, requester, parameters, decisions) in scenarios.items():
        handle = await worker.start_governed(task, requester, parameters=parameters)
        if decisions:
            await wait_for_stage(handle, "awaiting_approval")
        for kind, who in decisions:
            try:
                await decide(handle, kind, who, f"recorded {uuid.uuid4().hex[:4]}")
            except Exception as refused:
                print(f"{name}: {who} {kind} refused: {refused}")
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        path = HERE / f"governed_{name}_{tag}.json"
        path.write_text((await handle.fetch_history()).to_json())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1")):
        print(f"wrote {path}")
