"""Record the histories tests/replay replays: `python -m tests.replay.record KIND TAG`.

KIND is `governed`, `declarative` or `audit`. Starts its own stack on free ports, runs that kind's
scenarios (tests/replay/<kind>_scenarios.py) and writes one JSON history per scenario to
tests/histories/<kind>_<scenario>_<TAG>.json. Record again only when workflow code
changed *with* `workflow.patched`, keeping the old files: both must replay.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.replay import audit_scenarios, declarative_scenarios, governed_scenarios
from tests.support import RunningWorker, recording_worker

SCENARIOS: dict[str, Callable[[RunningWorker, str], Awaitable[list[Path]]]] = {
    "governed": governed_scenarios.scenarios,
    "declarative": declarative_scenarios.scenarios,
    "audit": audit_scenarios.scenarios,
}


async def record(kind: str, tag: str) -> list[Path]:
    async with recording_worker() as worker:
        return await SCENARIOS[kind](worker, tag)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: python -m tests.replay.record {{{'|'.join(SCENARIOS)}}} TAG")
    for path in asyncio.run(record(sys.argv[1], sys.argv[2])):
        print(f"wrote {path}")
