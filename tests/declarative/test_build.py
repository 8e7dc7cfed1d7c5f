"""Building typed blocks from documents: nested paths, the flat form, step options."""

from __future__ import annotations

from pathlib import Path

from orchestrator.declarative.build import build_definition
from orchestrator.declarative.model import ActivityStep, ApprovalStep, Parallel, Sequential
from orchestrator.declarative.parse import load_file

EXAMPLES = Path(__file__).parents[2] / "examples" / "definitions"


def test_old_demo_example_builds_nested_blocks_with_paths() -> None:
    built = build_definition(load_file(EXAMPLES / "data-pipeline.yaml"))
    assert built.name == "DataProcessingPipeline" and not built.legacy
    assert isinstance(built.root, Sequential)
    inner = built.root.blocks[3]
    assert isinstance(inner, Sequential) and inner.path == "execution.blocks[3]"
    extract = inner.blocks[0]
    assert isinstance(extract, ActivityStep) and extract.use_data_flow is False
    assert isinstance(inner.blocks[3], Parallel)
    assert inner.blocks[3].blocks[2].path == "execution.blocks[3].blocks[3].blocks[2]"
    assert built.steps == 14


def test_flat_form_is_one_sequential_block_and_old_approvals_are_approval_steps() -> None:
    built = build_definition(
        {
            "activities": [
                {"activityName": "ExtractData", "args": ["crm"]},
                {"activityName": "RequestApproval", "args": ["Approve", "the load"]},
            ]
        },
        source="flat-thing.yaml",
    )
    assert built.legacy and built.name == "flat-thing"
    assert isinstance(built.root, Sequential) and built.root.path == "activities"
    first, second = built.root.blocks
    assert isinstance(first, ActivityStep) and first.path == "activities[0]"
    assert isinstance(second, ApprovalStep)
    assert (second.description, second.activity) == ("Approve; the load", "RequestApproval")


def test_step_options_are_read() -> None:
    built = build_definition(
        {
            "workflowName": "w",
            "execution": {
                "activityName": "Echo",
                "timeoutSeconds": 5,
                "retry": {"maximumAttempts": 7, "initialIntervalSeconds": 2},
                "onDeny": "skipBranch",
                "resultName": "r",
                "when": {"exists": "x"},
            },
        }
    )
    step = built.root
    assert isinstance(step, ActivityStep)
    assert (step.timeout_seconds, step.retry.maximum_attempts) == (5.0, 7)
    assert step.retry.initial_interval_seconds == 2.0
    assert (step.on_deny, step.result_name) == ("skipBranch", "r")
    assert step.when is not None and step.when.op == "exists"
