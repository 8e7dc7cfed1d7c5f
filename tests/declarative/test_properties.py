"""Property-based: random definitions. Valid ones validate and run exactly as the format says;
broken ones are rejected at the broken path; arbitrary JSON never crashes the validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.declarative.build import build_definition
from orchestrator.declarative.problem import Problem
from orchestrator.declarative.validate import problems
from tests.declarative.support import start
from tests.support import RunningWorker

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)
KEYS = st.sampled_from(
    ["type", "activityName", "args", "blocks", "when", "resultName", "onDeny", "retry",
     "timeoutSeconds", "useDataFlow", "exists", "result", "equals", "execution", "x"]
)  # fmt: skip
TYPES = st.sampled_from(["activity", "sequential", "parallel", "approval", "loop", 3])
BLOCKISH = st.recursive(
    st.fixed_dictionaries({"type": TYPES, "activityName": st.sampled_from(["Echo", "Nope", 7])})
    | JSON,
    lambda children: st.dictionaries(KEYS, children | st.lists(children, max_size=4), max_size=6),
    max_leaves=30,
)
WORDS = st.text(alphabet="abcxyz", min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_the_validator_never_crashes_on_arbitrary_json(document: Any) -> None:
    found = problems(document)
    assert found and all(isinstance(p, Problem) and p.message for p in found)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"workflowName": st.one_of(WORDS, JSON), "execution": BLOCKISH},
        optional={"activities": st.lists(BLOCKISH, max_size=3)},
    )
)
def test_the_validator_never_crashes_on_definition_shaped_json(document: Any) -> None:
    for problem in problems(document):
        assert isinstance(problem, Problem) and problem.message


# --- valid definitions, with a reference model of what they compute --------------------


class Builder:
    """Draws a valid definition of Echo/Constant steps: data flow, parallel, named results,
    references to results already produced, and conditions."""

    def __init__(self, draw: st.DrawFn, max_steps: int) -> None:
        self.draw: Any = draw
        self.budget = max_steps
        self.names = 0

    def block(
        self, depth: int, certain: list[str], maybe: list[str], kind: str | None = None
    ) -> tuple[dict[str, Any], list[str], list[str]]:
        """A block and the result names it certainly / possibly produces."""
        kinds = ["activity"] * 3
        if depth < 4 and self.budget >= 2:
            kinds += ["sequential", "parallel"]
        kind = kind or self.draw(st.sampled_from(kinds))
        block: dict[str, Any] = {"type": kind}
        conditional = False
        if certain + maybe and self.draw(st.integers(0, 4)) == 0:
            name = self.draw(st.sampled_from(certain + maybe))
            exists = {"exists": name}
            block["when"] = self.draw(st.sampled_from([exists, {"not": exists}]))
            conditional = True
        made_certain: list[str] = []
        made_maybe: list[str] = []
        if kind == "activity":
            self.budget -= 1
            if self.draw(st.integers(0, 3)) == 0:
                block["activityName"] = "Constant"
                block["args"] = [self.arg(certain)]
            else:
                block["activityName"] = "Echo"
                block["args"] = self.draw(st.lists(st.just(None), max_size=2))
                block["args"] = [self.arg(certain) for _ in block["args"]]
                if self.draw(st.booleans()):
                    block["useDataFlow"] = self.draw(st.booleans())
        else:
            children: list[dict[str, Any]] = []
            least = 2 if depth == 0 else 1
            count = self.draw(st.integers(least, max(least, min(4, self.budget))))
            inner_certain, inner_maybe = list(certain), list(maybe)
            for _ in range(count):
                if self.budget <= 0 and children:
                    break
                child, got_certain, got_maybe = self.block(depth + 1, inner_certain, inner_maybe)
                children.append(child)
                made_certain += got_certain
                made_maybe += got_maybe
                if kind == "sequential":
                    inner_certain += got_certain
                    inner_maybe += got_maybe
            block["blocks"] = children
        if self.draw(st.booleans()):
            name = f"r{self.names}"
            self.names += 1
            block["resultName"] = name
            made_certain.append(name)
        if conditional:
            return block, [], made_certain + made_maybe
        return block, made_certain, made_maybe

    def arg(self, certain: list[str]) -> Any:
        if certain and self.draw(st.booleans()):
            name = self.draw(st.sampled_from(certain))
            return self.draw(st.sampled_from([f"${{results.{name}}}", f"<${{results.{name}}}>"]))
        scalar: st.SearchStrategy[Any] = st.one_of(st.integers(-5, 5), WORDS)
        return self.draw(scalar | st.lists(st.booleans(), max_size=2))


@st.composite
def valid_definitions(draw: st.DrawFn, max_steps: int = 12) -> dict[str, Any]:
    builder = Builder(draw, max_steps)
    root, _, _ = builder.block(0, [], [], "sequential")
    return {"workflowName": "generated", "execution": root}


def simulate(block: dict[str, Any], flow: Any, results: dict[str, Any]) -> Any:
    """What the format says a definition of Echo/Constant steps computes."""
    when = block.get("when")
    if when is not None:
        name = when.get("exists") or when["not"]["exists"]
        if (name in results) != ("exists" in when):
            return flow
    kind = block["type"]
    if kind == "sequential":
        for child in block["blocks"]:
            flow = simulate(child, flow, results)
        output = flow
    elif kind == "parallel":
        output = [simulate(child, flow, results) for child in block["blocks"]]
    else:
        args = [resolve_arg(arg, results) for arg in block["args"]]
        if block["activityName"] == "Constant":
            output = args[0]
        else:
            call = [flow, *args] if block.get("useDataFlow", True) else args
            output = {"data": call[0] if call else None, "args": call[1:]}
    if "resultName" in block:
        results[block["resultName"]] = output
    return output


def resolve_arg(arg: Any, results: dict[str, Any]) -> Any:
    if isinstance(arg, str) and arg.startswith("${results."):
        return results[arg[len("${results.") : -1]]
    if isinstance(arg, str) and arg.startswith("<${results."):
        value = results[arg[len("<${results.") : -2]]
        return f"<{value if isinstance(value, str) else _compact(value)}>"
    return arg


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@settings(max_examples=200, deadline=None)
@given(valid_definitions())
def test_generated_valid_definitions_validate_and_build(document: dict[str, Any]) -> None:
    assert problems(document) == []
    built = build_definition(document)
    assert built.steps == _leaves(document["execution"])


def _leaves(block: dict[str, Any]) -> int:
    if block["type"] in ("sequential", "parallel"):
        return sum(_leaves(child) for child in block["blocks"])
    return 1


MUTATIONS = ["unknown_activity", "empty_blocks", "unknown_field", "dangling_reference", "type"]


@settings(max_examples=200, deadline=None)
@given(valid_definitions(), st.sampled_from(MUTATIONS), st.data())
def test_broken_definitions_are_rejected_at_the_broken_path(
    document: dict[str, Any], mutation: str, data: st.DataObject
) -> None:
    broken = copy.deepcopy(document)
    blocks = list(_blocks(broken["execution"], "execution"))
    leaves = [(b, p) for b, p in blocks if b["type"] == "activity"]
    groups = [(b, p) for b, p in blocks if b["type"] in ("sequential", "parallel")]
    if mutation == "unknown_activity":
        block, path = data.draw(st.sampled_from(leaves))
        block["activityName"] = "NoSuchStep"
        expected = f"{path}.activityName"
    elif mutation == "empty_blocks" and groups:
        block, path = data.draw(st.sampled_from(groups))
        block["blocks"] = []
        expected = f"{path}.blocks"
    elif mutation == "dangling_reference":
        block, path = data.draw(st.sampled_from(leaves))
        block["activityName"] = "Echo"
        block["args"] = ["${results.never_declared}"]
        block.pop("useDataFlow", None)
        expected = f"{path}.args[0]"
    elif mutation == "type":
        block, path = data.draw(st.sampled_from(blocks))
        block["type"] = "loop"
        expected = f"{path}.type"
    else:
        block, path = data.draw(st.sampled_from(blocks))
        block["bogus"] = 1
        expected = f"{path}.bogus"
    found = problems(broken)
    assert expected in [p.path for p in found], (mutation, found)
    assert all(p.message for p in found)


def _blocks(block: dict[str, Any], path: str) -> Any:
    yield block, path
    for index, child in enumerate(block.get("blocks", [])):
        yield from _blocks(child, f"{path}.blocks[{index}]")


@pytest.mark.integration
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=valid_definitions(max_steps=5))
async def test_generated_definitions_run_exactly_as_the_format_says(
    worker: RunningWorker, document: dict[str, Any]
) -> None:
    expected_results: dict[str, Any] = {}
    expected_output = simulate(document["execution"], None, expected_results)
    handle = await start(worker.client, worker.settings, document)
    result = await handle.result()
    assert result.output == expected_output
    assert result.results == expected_results
