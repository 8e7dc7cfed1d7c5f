"""The governed scenarios `python -m tests.replay.record governed TAG` records:
tests/histories/governed_<scenario>_<TAG>.json."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from temporalio.client import WorkflowFailureError

from tests.support import HISTORIES, RunningWorker, decide, wait_for_stage


async def scenarios(worker: RunningWorker, tag: str) -> list[Path]:
    # Approvals are signed with the recording stack's development keys.
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(worker.settings.identity_keys_file)
    written = []
    risky = "Deploy the billing service to production"
    scenarios: dict[str, tuple[str, str, dict[str, object], list[tuple[str, str]]]] = {
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
        # Since v6: nobody decides within 2 s; the deadline's reject step closes it.
        "expired": (risky, "alice", {"environment": "production"}, []),
    }
    for name, (task, requester, parameters, decisions) in scenarios.items():
        timeout = {"approval_timeout_seconds": 2} if name == "expired" else {}
        handle = await worker.start_governed(task, requester, parameters=parameters, **timeout)
        if decisions:
            await wait_for_stage(handle, "awaiting_approval")
        for kind, who in decisions:
            try:
                await decide(handle, kind, who, f"recorded {uuid.uuid4().hex[:4]}")
            except Exception as refused:
                print(f"{name}: {who} {kind} refused: {refused}")
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        path = HISTORIES / f"governed_{name}_{tag}.json"
        path.write_text((await handle.fetch_history()).to_json())
        written.append(path)
    return written
