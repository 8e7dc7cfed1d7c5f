"""Write a large definition: `python examples/definitions/generate_large.py [STEPS] [FILE]`.

STEPS (default 1000) steps in stages of 50: an extract, a chain of transforms and checks
with data flow, and a parallel block of ten metric branches. The committed
`large-1000.json` is its output for 1000 steps; the integration suite runs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STAGE = 50
BRANCHES = 10


def stage(number: int, steps: int) -> dict[str, Any]:
    chain = steps - BRANCHES
    blocks: list[dict[str, Any]] = [
        {
            "type": "activity",
            "activityName": "ExtractData",
            "args": [f"source-{number}", 3],
            "useDataFlow": False,
        }
    ]
    cycle = ["TransformData", "ValidateInput", "RunQualityChecks", "MonitorProgress"]
    for index in range(chain - 1):
        name = cycle[index % len(cycle)]
        args: list[Any] = ["double"] if name == "TransformData" else []
        if name == "MonitorProgress":
            # MonitorProgress reports on records and passes none on: restart the chain.
            blocks.append(
                {
                    "type": "activity",
                    "activityName": "ExtractData",
                    "args": [f"source-{number}-{index}", 3],
                    "useDataFlow": False,
                }
            )
            continue
        blocks.append({"type": "activity", "activityName": name, "args": args})
    blocks.append(
        {
            "type": "parallel",
            "blocks": [
                {"type": "activity", "activityName": "LogMetrics", "args": [f"stage-{number}"]}
                for _ in range(BRANCHES)
            ],
        }
    )
    return {"type": "sequential", "description": f"stage {number}", "blocks": blocks}


def large_definition(steps: int = 1000) -> dict[str, Any]:
    if steps % STAGE:
        raise ValueError(f"steps must be a multiple of {STAGE}")
    return {
        "workflowName": f"large-{steps}",
        "description": f"{steps} steps in stages of {STAGE}, for scale tests.",
        "execution": {
            "type": "sequential",
            "blocks": [stage(number, STAGE) for number in range(steps // STAGE)],
        },
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    target = (
        Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name(f"large-{count}.json")
    )
    target.write_text(json.dumps(large_definition(count), indent=1) + "\n")
    print(f"wrote {target}")
