"""The one normalisation of the policy input (orchestrator/policy/normalize.py), and the
client refusing, once and clearly, an input that cannot be encoded.

Pure functions: no OPA here. respx stands in for OPA only to prove that an input that
cannot be encoded never reaches it and is not retried.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.config import OpaSettings
from orchestrator.policy.activity import PolicyActivities
from orchestrator.policy.client import OpaClient, PolicyError, PolicyInputInvalid, encode_input
from orchestrator.policy.contract import (
    STEP_EXECUTE,
    WORKFLOW_START,
    PolicyInput,
    Requester,
    StepSpec,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.normalize import normalize_input, normalize_text, normalize_value

# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "Deploy",
        "DEPLOY",
        "De\u200bploy",  # zero-width space
        "De\u200dploy",  # zero-width joiner
        "\ufeffDeploy",  # byte-order mark
        "D\u0435ploy",  # Cyrillic small ie
        "Dep\u04cfoy",  # Cyrillic palochka for l
        "\uff24\uff45\uff50\uff4c\uff4f\uff59",  # full-width letters
        "De\u0301ploy",  # combining acute accent
        "D\u00e9ploy",  # precomposed e with acute
        "Dep\u00adloy",  # soft hyphen
        "De\u202eploy",  # right-to-left override
        "Dep\u2060loy",  # word joiner
        "Dep\u3164loy",  # Hangul filler
        "  Deploy\t",
        "\u00a0Deploy\u00a0",  # non-breaking spaces
        "Depl\u03bfy",  # Greek omicron
        "DEPL\u039fY",  # Greek capital omicron
    ],
)
def test_every_spelling_of_a_word_becomes_one(written: str) -> None:
    assert normalize_text(written) == "deploy"


def test_whitespace_is_trimmed_and_collapsed() -> None:
    assert normalize_text("  drop \t the\n\n table\u2028 ") == "drop the table"


def test_compatibility_forms_and_case_folding() -> None:
    assert normalize_text("\ufb01le") == "file"  # the fi ligature
    assert normalize_text("Stra\u00dfe") == "strasse"
    assert normalize_text("\u2460") == "1"  # circled digit one


def test_look_alikes_map_to_latin_and_other_letters_stay() -> None:
    assert normalize_text("\u041f\u0440\u0438\u0432\u0435\u0442") == "\u043fp\u0438\u0432e\u0442"
    assert normalize_text("\ud55c\uad6d\uc5b4") == "\ud55c\uad6d\uc5b4"  # Hangul recomposes


def test_a_lone_surrogate_is_kept_for_the_client_to_refuse() -> None:
    assert normalize_text("a\ud800b") == "a\ud800b"


# --- values -------------------------------------------------------------------------------


def test_keys_fold_and_values_normalise_at_any_depth() -> None:
    value = {"Environment ": "Production", "Outer": [{"INNER\u200b": " Prod-EU "}]}
    assert normalize_value(value) == {
        "environment": "production",
        "outer": [{"inner": "prod-eu"}],
    }


def test_keys_that_fold_alike_keep_every_value() -> None:
    value = {"environment": "dev", "Environment": "production", "ENVIRONMENT": "x"}
    assert normalize_value(value) == {"environment": ["dev", "production", "x"]}


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("20000", 20000),
        (" 20000 ", 20000),
        ("+7", 7),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e4", 10000.0),
        (".5", 0.5),
        ("\uff12\uff10\uff10\uff10\uff10", 20000),  # full-width digits
    ],
)
def test_numeric_strings_become_numbers(written: str, number: float) -> None:
    assert normalize_value({"amount": written}) == {"amount": number}
    assert type(normalize_value(written)) is type(number)


@pytest.mark.parametrize(
    "written", ["nan", "NaN", "inf", "-Infinity", "1e309", "20,000", "1_000", "0x10", "ten", ""]
)
def test_other_strings_stay_strings(written: str) -> None:
    assert isinstance(normalize_value(written), str)


def test_a_very_long_digit_string_stays_a_string() -> None:
    digits = "9" * 5000
    assert normalize_value(digits) == digits


def test_non_strings_are_kept() -> None:
    value = [None, True, False, 0, 1.5, {"a": None}, (1, "X")]
    assert normalize_value(value) == [None, True, False, 0, 1.5, {"a": None}, [1, "x"]]


def test_a_5000_deep_structure_is_normalised_without_recursion() -> None:
    deep: Any = "Forbidden"
    for _ in range(5000):
        deep = {"Next": [deep]}
    normalized = normalize_value(deep)
    for _ in range(5000):
        normalized = normalized["next"][0]
    assert normalized == "forbidden"


def test_a_cycle_is_kept_not_followed() -> None:
    loop: list[Any] = ["A"]
    loop.append(loop)
    normalized = normalize_value(loop)
    assert normalized[0] == "a" and normalized[1] is loop


# --- the input document --------------------------------------------------------------------


def test_only_the_task_and_step_contents_are_normalised() -> None:
    document = PolicyInput(
        STEP_EXECUTE,
        WorkflowRef("DeclarativeWorkflow", "WF-Ä", "Run-1", "My Definition"),
        Requester("Alice", ["Engineer"]),
        task=TaskSpec(" Deploy\u200b ", "Payment-Batch", {"Amount": "20000"}),
        step=StepSpec("ExecuteAgentTask", "execution.blocks[0]", ["DEPLOY", {"Env": "Prod"}]),
    ).to_opa()
    normalized = normalize_input(document)
    assert normalized["task"] == {
        "description": "deploy",
        "kind": "payment-batch",
        "parameters": {"amount": 20000},
    }
    assert normalized["step"] == {
        "activity": "ExecuteAgentTask",
        "path": "execution.blocks[0]",
        "args": ["deploy", {"env": "prod"}],
    }
    for untouched in ("action", "workflow", "requester"):
        assert normalized[untouched] == document[untouched]
    # A copy: the caller's document is unchanged.
    assert document["task"]["description"] == " Deploy\u200b "


def test_documents_without_those_sections_pass_through() -> None:
    assert normalize_input({"action": "x"}) == {"action": "x"}
    assert normalize_input({"task": "deploy", "step": {"path": "p"}}) == {
        "task": "deploy",
        "step": {"path": "p"},
    }
    assert normalize_input([1, 2]) == [1, 2]


# --- properties -----------------------------------------------------------------------------

# Every code point, surrogates and unassigned ones included: the normaliser must take them.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_normalising_text_twice_changes_nothing(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip() and "  " not in once


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_normalising_any_json_value_never_raises_and_is_idempotent(value: Any) -> None:
    once = normalize_value(value)
    assert normalize_value(once) == once
    document = {"action": "workflow.start", "task": {"description": "x", "parameters": value}}
    assert normalize_input(normalize_input(document)) == normalize_input(document)


def test_every_single_code_point_is_idempotent() -> None:
    for code in range(sys.maxunicode + 1):
        once = normalize_text(f"a{chr(code)}b")
        assert normalize_text(once) == once, hex(code)


# --- encoding: a local failure is one clear, non-retryable error ---------------------------

SETTINGS = OpaSettings(url="http://opa.test", decision_path="orchestrator/main/decision")
DECISION_URL = "http://opa.test/v1/data/orchestrator/main/decision"


def start_with(parameters: dict[str, Any]) -> PolicyInput:
    return PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "wf-bad", "run-1"),
        Requester("alice"),
        TaskSpec("generate the weekly report", parameters=parameters),
    )


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({"amount": math.nan}, "JSON cannot express"),
        ({"amount": math.inf}, "JSON cannot express"),
        ({"note": "\ud800"}, "not valid Unicode"),
        ({"nested": deep(5000)}, "nested too deeply"),
        ({"raw": b"bytes"}, "not JSON"),
        ({"set": {1, 2}}, "not JSON"),
    ],
)
@respx.mock
async def test_an_input_that_cannot_be_encoded_never_reaches_opa(
    parameters: dict[str, Any], says: str
) -> None:
    route = respx.post(DECISION_URL).respond(json={"result": {}})
    client = OpaClient(SETTINGS)
    with pytest.raises(PolicyInputInvalid) as caught:
        await client.decide(start_with(parameters))
    await client.aclose()
    error = caught.value
    assert says in str(error)
    assert "workflow.start policy input for workflow wf-bad cannot be sent to OPA" in str(error)
    assert isinstance(error, PolicyError)
    assert (error.retryable, error.error_class) == (False, "invalid_input")
    assert not route.called


@respx.mock
async def test_the_activity_fails_once_without_retrying() -> None:
    respx.post(DECISION_URL).respond(json={"result": {}})
    client = OpaClient(SETTINGS)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            PolicyActivities(client).decide, start_with({"amount": math.nan})
        )
    await client.aclose()
    assert caught.value.type == "PolicyInputInvalid"
    assert caught.value.non_retryable


@respx.mock
async def test_the_body_is_compact_utf8_json_of_the_normalised_input() -> None:
    route = respx.post(DECISION_URL).respond(
        json={"result": {"allow": True, "reasons": [], "require_approval": False}}
    )
    client = OpaClient(SETTINGS)
    await client.decide(start_with({"Note": "Caf\u00e9 \u2603", "Amount": "20000"}))
    await client.aclose()
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    body = request.read()
    assert b'"parameters":{"note":"cafe \xe2\x98\x83","amount":20000}' in body
    assert b": " not in body and b", " not in body
    assert json.loads(body)["input"]["task"]["description"] == "generate the weekly report"


def test_encode_input_is_what_the_client_sends() -> None:
    body = encode_input(start_with({"amount": "7"}))
    assert json.loads(body)["input"]["task"]["parameters"] == {"amount": 7}


async def test_a_network_error_still_is_a_network_error() -> None:
    """Encoding comes first, but a good input still reaches the transport as before."""
    with respx.mock:
        respx.post(DECISION_URL).mock(side_effect=httpx.ConnectError("refused"))
        client = OpaClient(SETTINGS)
        with pytest.raises(PolicyError) as caught:
            await client.decide(start_with({}))
        await client.aclose()
    assert caught.value.retryable
