"""Validation: every problem at once, each with its path; the schema ships and is usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orchestrator.declarative.parse import load_file
from orchestrator.declarative.problem import Problem
from orchestrator.declarative.schema_checks import SCHEMA
from orchestrator.declarative.semantics import MAX_DEPTH, MAX_PARALLEL_STEPS, MAX_STEPS
from orchestrator.declarative.validate import problems
from tests.declarative.support import act, approval, definition, par, seq

EXAMPLES = Path(__file__).parents[2] / "examples" / "definitions"


def paths(document: Any) -> list[str]:
    return [problem.path for problem in problems(document)]


def messages(document: Any) -> dict[str, str]:
    return {problem.path: problem.message for problem in problems(document)}


@pytest.mark.parametrize(
    "name", ["data-pipeline.yaml", "legacy-flat.yaml", "governed-release.yaml", "large-1000.json"]
)
def test_examples_are_valid(name: str) -> None:
    document = load_file(EXAMPLES / name)
    assert problems(document) == []
    jsonschema.validate(document, SCHEMA)  # what an editor with the schema would say


def test_the_schema_is_a_valid_2020_12_schema_with_an_id() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]
    for name, definition_ in SCHEMA["$defs"].items():
        if name != "blocks":
            assert definition_.get("description"), f"$defs.{name} has no description"


def test_the_invalid_example_reports_every_problem_at_once() -> None:
    found = problems(load_file(EXAMPLES / "invalid.yaml"))
    assert [str(problem) for problem in found] == [
        "execution.blocks[0].activityName: unknown activity 'ExtractDta' "
        "(did you mean ExtractData?); `orchestrator definition catalog` lists them",
        "execution.blocks[1].args[0]: FetchRecords expects source: string, not integer 42",
        'execution.blocks[1].args[1]: FetchRecords expects count: integer, not string "ten"',
        "execution.blocks[2].blocks: must not be empty",
        "execution.blocks[3].args[0]: refers to result 'cleaned', which no block declares "
        "(resultName)",
        "execution.blocks[3].onDeny: skipBranch stops the enclosing branch of a parallel block,"
        " and this step is in none; outside parallel blocks a denial always fails the workflow",
        "execution.blocks[4].type: must be one of: activity, sequential, parallel, approval; "
        'not string "paralel" (did you mean parallel?)',
    ]


def test_nested_paths_name_the_exact_field() -> None:
    document = definition(act("Echo"), seq(par(act("Echo"), seq(act("Nope")))))
    assert paths(document) == ["execution.blocks[1].blocks[0].blocks[1].blocks[0].activityName"]


def test_argument_count_and_types_against_the_catalog() -> None:
    found = messages(
        definition(
            act("FetchRecords"),
            act("FetchRecords", "a", 1, 2),
            act("FetchRecords", "a", True),
            act("FilterRecords", "high"),
            act("FilterRecords", [{"value": 1}], 5, useDataFlow=False, resultName="ok"),
            act("SumField", 3),
        )
    )
    assert found == {
        "execution.blocks[0].args": "FetchRecords: missing source; it takes source: string, "
        "count: integer (optional)",
        "execution.blocks[1].args": "FetchRecords takes at most 2 argument(s) (source: string, "
        "count: integer (optional)); 3 given",
        "execution.blocks[2].args[1]": "FetchRecords expects count: integer, not boolean true",
        "execution.blocks[3].args[0]": 'FilterRecords expects minimum: number, not string "high"',
        "execution.blocks[5].args[0]": "SumField expects field: string, not integer 3",
    }


def test_legacy_names_take_loose_arguments_and_references_match_any_type() -> None:
    document = definition(
        act("ExtractData", "db", 10, {"any": ["thing"]}, resultName="n"),
        act("TransformData", "normalize", 3, None),
        act("FetchRecords", "${results.n.source}", "${results.n.count}"),
        act("Echo", "count: ${results.n.count}"),
    )
    assert problems(document) == []


def test_references_must_be_produced_before_the_step_runs() -> None:
    found = messages(
        definition(
            act("Echo", "${results.later}", when={"exists": "own"}, resultName="own"),
            par(
                act("Echo", resultName="left"),
                act("Echo", "${results.left}"),
            ),
            act("Echo", "${results.left}", "${results.lefty}", resultName="later"),
            act("Echo", "${whatever}"),
        )
    )
    assert "produced later (execution.blocks[2])" in found["execution.blocks[0].args[0]"]
    assert "which this block itself produces" in found["execution.blocks[0].when"]
    assert (
        "another branch of the parallel block execution.blocks[1]"
        in found["execution.blocks[1].blocks[1].args[0]"]
    )
    # After the parallel block, `left` exists; `lefty` never does.
    assert "execution.blocks[2].args[0]" not in found
    assert "no block declares" in found["execution.blocks[2].args[1]"]
    assert "(did you mean left?)" in found["execution.blocks[2].args[1]"]
    assert "is not a reference" in found["execution.blocks[3].args[0]"]


def test_result_names_are_unique_and_well_formed() -> None:
    found = messages(
        definition(
            act("Echo", resultName="x"),
            seq(act("Echo"), resultName="x"),
            approval(resultName="1x"),
        )
    )
    assert (
        "already the result name of execution.blocks[0]" in found["execution.blocks[1].resultName"]
    )
    assert "not a valid result name" in found["execution.blocks[2].resultName"]


def test_structure_problems_with_hints() -> None:
    found = messages(
        {
            "workflowName": "bad name!",
            "execution": {
                "type": "sequential",
                "blocks": [
                    {"type": "activity"},
                    {"activityName": "Echo", "retrys": {}},
                    {"type": "parallel"},
                    {"activityName": "Echo", "timeoutSeconds": 0, "args": "x"},
                    {"activityName": "Echo", "retry": {"maximumAttempts": 1.5}},
                    {"activityName": "Echo", "when": {"result": "x", "equal": 1}},
                    {"activityName": "Echo", "onDeny": "ignore"},
                    "not a block",
                ],
            },
            "extra": 1,
        }
    )
    assert found["workflowName"].startswith('"bad name!" is not a valid workflow name')
    assert found["extra"].startswith("unknown field")
    assert found["execution.blocks[0].activityName"].startswith("is required")
    assert "did you mean retry?" in found["execution.blocks[1].retrys"]
    assert found["execution.blocks[2].blocks"].startswith("is required")
    assert found["execution.blocks[3].timeoutSeconds"] == "must be more than 0, not 0"
    assert found["execution.blocks[3].args"] == 'must be an array, not string "x"'
    assert found["execution.blocks[4].retry.maximumAttempts"].startswith("must be an integer")
    assert "did you mean equals?" in found["execution.blocks[5].when.equal"]
    assert found["execution.blocks[6].onDeny"].startswith("must be one of: fail, skipBranch")
    assert found["execution.blocks[7]"] == 'must be an object, not string "not a block"'


def test_top_level_form() -> None:
    assert messages({"workflowName": "w"}) == {
        "": "needs execution (a block) or activities (the older flat list of steps)"
    }
    both = messages({"workflowName": "w", "execution": act("Echo"), "activities": [act("Echo")]})
    assert both[""].startswith("has both execution and activities")
    assert messages({"execution": act("Echo")}) == {
        "workflowName": "is required (the definition's name)"
    }
    assert problems({"activities": [{"activityName": "Echo"}]}) == []  # flat: name optional
    assert messages([]) == {
        "": "a definition is an object with workflowName and execution (or the flat "
        "activities list), not array"
    }


def test_on_deny_skip_branch_needs_a_parallel_block_above() -> None:
    assert problems(definition(par(seq(act("Echo", onDeny="skipBranch"))))) == []
    assert paths(definition(act("Echo", onDeny="skipBranch"))) == ["execution.blocks[0].onDeny"]


def test_old_approval_names_refuse_activity_options() -> None:
    found = messages(definition(act("RequestApproval", "ok?", retry={}, onDeny="fail")))
    assert set(found) == {"execution.blocks[0].retry", "execution.blocks[0].onDeny"}


def test_limits_on_steps_depth_parallel_size_and_document_size() -> None:
    many = definition(*[act("Echo") for _ in range(MAX_STEPS + 1)])
    assert f"{MAX_STEPS + 1:,} steps; a definition has at most" in messages(many)[""]

    deep: dict[str, Any] = act("Echo")
    for _ in range(MAX_DEPTH):
        deep = seq(deep)
    found = messages({"workflowName": "w", "execution": deep})
    [(path, message)] = found.items()
    assert message == f"blocks are nested more than {MAX_DEPTH} deep here"
    assert path.count(".blocks[0]") == MAX_DEPTH

    wide = definition(par(*[act("Echo") for _ in range(MAX_PARALLEL_STEPS + 1)]))
    assert "steps in one parallel block" in messages(wide)["execution.blocks[0]"]

    big = definition(act("Echo", "x" * 600_000))
    assert messages(big)[""].startswith("the definition is 586 KiB as JSON; at most 512 KiB")


def test_non_json_values_are_reported_not_raised() -> None:
    assert problems({"workflowName": "w", "execution": {1: 2}}) == [
        Problem("execution", "keys must be strings, not 1")
    ]
    assert problems({"a": float("nan")}) == [Problem("a", "nan is not a JSON number")]
    assert problems({"a": {1, 2}}) == [Problem("a", "a set is not a JSON value")]
    nested: Any = []
    for _ in range(5000):
        nested = [nested]
    assert "nested more than" in problems({"x": nested})[0].message
