"""References to named results and the condition language."""

from __future__ import annotations

import pytest

from orchestrator.declarative.expressions import (
    MissingResult,
    Reference,
    condition_problems,
    json_equal,
    parse_condition,
    resolve,
    scan,
    whole_reference,
)

RESULTS = {"x": {"items": [1, 2], "name": "n", "flag": True}, "s": "text", "nothing": None}


def test_whole_reference_keeps_the_type_and_text_interpolates() -> None:
    assert resolve("${results.x}", RESULTS) == RESULTS["x"]
    assert resolve("${results.x.items.1}", RESULTS) == 2
    assert resolve("a ${results.s} b ${results.x.items}", RESULTS) == "a text b [1,2]"
    assert resolve(["${results.nothing}", {"k": "${results.x.flag}"}], RESULTS) == [
        None,
        {"k": True},
    ]
    assert resolve("$${results.x} stays", RESULTS) == "${results.x} stays"
    assert resolve("${results.s}${results.s}", RESULTS) == "texttext"


def test_missing_results_and_paths_say_what_is_missing() -> None:
    with pytest.raises(MissingResult, match="no result named 'y'"):
        resolve("${results.y}", RESULTS)
    with pytest.raises(MissingResult, match="x has no field 'z'"):
        resolve("${results.x.z}", RESULTS)
    with pytest.raises(MissingResult, match=r"x.items is an array of 2; no item '5'"):
        resolve("${results.x.items.5}", RESULTS)
    with pytest.raises(MissingResult, match="s is not an object or array"):
        resolve("${results.s.a}", RESULTS)


def test_scan_finds_references_and_malformed_ones_with_paths() -> None:
    found = list(scan(["${results.a}", {"k": "x ${results.b.c} ${nope} ${open"}], "args"))
    assert found[0] == ("args[0]", Reference("a"))
    assert found[1] == ("args[1].k", Reference("b", ("c",)))
    assert found[2][0] == "args[1].k" and "'${nope}' is not a reference" in str(found[2][1])
    assert "unclosed" in str(found[3][1])
    assert whole_reference("${results.a} ") is None


def test_conditions_evaluate_against_results() -> None:
    def holds(raw: dict[str, object]) -> bool:
        assert condition_problems(raw, "when") == []
        return parse_condition(raw).evaluate(RESULTS)

    assert holds({"result": "x.name", "equals": "n"})
    assert not holds({"result": "x.flag", "equals": 1})  # JSON equality: true is not 1
    assert holds({"result": "x.items", "equals": [1, 2.0]})
    assert holds({"result": "s", "in": ["a", "text"]})
    assert holds({"result": "s", "notEquals": "other"})
    assert not holds({"result": "missing", "notEquals": "other"})  # missing: false
    assert holds({"exists": "nothing"})
    assert not holds({"exists": "x.items.9"})
    assert holds({"not": {"exists": "missing"}})
    assert holds({"all": [{"exists": "x"}, {"any": [{"exists": "q"}, {"exists": "s"}]}]})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"result": "x"}, "needs exactly one of equals"),
        ({"result": "x", "equals": 1, "in": [1]}, "needs exactly one of equals"),
        ({"equals": 1}, "needs `result: NAME`"),
        ({"exists": "1bad"}, "does not name a result"),
        ({"all": []}, "non-empty array"),
        ({"exists": "a", "not": {"exists": "b"}}, "exactly one of"),
        ({"not": {"all": [{"result": "x"}]}}, "needs exactly one of equals"),
        ("x", "a condition is an object"),
    ],
)
def test_malformed_conditions_are_explained(raw: object, expected: str) -> None:
    messages = " | ".join(message for _, message in condition_problems(raw, "when"))
    assert expected in messages


def test_json_equal() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2}) and not json_equal("1", 1)
