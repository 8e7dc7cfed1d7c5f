"""The API's edge, before Temporal: media types, JSON no input may hold, failed-token limits.

Temporal is at a closed port (tests.api.conftest.OFFLINE): a request that got past every
check answers 503, so a 415, 422 or 429 here also proves nothing was started.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from orchestrator.api import ApiConfig, create_app
from orchestrator.api.auth import FailedAuthLimiter, client_key
from orchestrator.api.config import MAX_TASK_VALUE_LENGTH, load_file
from orchestrator.config import ConfigError
from orchestrator.governed.activities import plan
from tests.api.conftest import EXAMPLE_CONFIG, OFFLINE, api_env, auth, error_of

JSON = {"Content-Type": "application/json"}
REPORT = {"task": "Generate the weekly usage report"}
DEFINITION = {
    "workflowName": "nightly-report",
    "execution": {
        "type": "sequential",
        "blocks": [{"type": "activity", "activityName": "GenerateReport", "args": ["ops"]}],
    },
}

# --- 415: a body is JSON or nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/v1/workflows", "text/plain", b"Generate the weekly usage report"),
        ("/v1/workflows", "text/plain", json.dumps(REPORT).encode()),
        ("/v1/workflows", None, json.dumps(REPORT).encode()),
        ("/v1/workflows", "application/x-www-form-urlencoded", b"task=report"),
        ("/v1/events/report.requested", "application/xml", b"<team>ops</team>"),
        ("/v1/definitions/runs", "text/yaml", b"workflowName: x\n"),
        ("/v1/workflows/wf-1/approve", "text/plain", b"lgtm"),
        ("/v1/workflows/wf-1/reject", "multipart/form-data; boundary=x", b"--x--"),
    ],
)
async def test_a_body_without_a_json_media_type_is_415(
    offline: httpx.AsyncClient, path: str, content_type: str | None, body: bytes
) -> None:
    headers = auth("bob") | ({"Content-Type": content_type} if content_type else {})
    response = await offline.post(path, headers=headers, content=body)
    assert response.status_code == 415, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == ("unsupported_media_type", "header.content-type")
    assert "Content-Type: application/json" in error["message"]
    assert (content_type or "got none").split(";")[0] in error["message"]


async def test_json_media_types_and_empty_optional_bodies_pass_the_check(
    offline: httpx.AsyncClient,
) -> None:
    body = json.dumps(REPORT).encode()
    for content_type in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/problem+json",
    ]:
        response = await offline.post(
            "/v1/workflows", headers={**auth("alice"), "Content-Type": content_type}, content=body
        )
        assert response.status_code == 503, (content_type, response.text)  # reached Temporal
    # approve/reject take an optional body: none, and no Content-Type, is fine.
    bare = await offline.post("/v1/workflows/wf-1/approve", headers=auth("bob"))
    assert bare.status_code == 503, bare.text
    typed_but_empty = await offline.post(
        "/v1/workflows/wf-1/reject", headers={**auth("bob"), "Content-Type": "text/plain"}
    )
    assert typed_but_empty.status_code == 503, typed_but_empty.text


# --- 422: JSON no input may hold --------------------------------------------------------


def deep(levels: int) -> str:
    """`{"a": {"a": ... 1}}` with `levels` objects."""
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("path", "raw", "field", "words"),
    [
        ("/v1/workflows", r'{"task": "report \ud800"}', "body.task", "lone surrogate"),
        (
            "/v1/workflows",
            r'{"task": "report", "parameters": {"note": "\udfff x"}}',
            "body.parameters.note",
            "lone surrogate",
        ),
        (
            "/v1/workflows",
            r'{"task": "report", "parameters": {"\ud800": 1}}',
            r"body.parameters.\ud800",
            "key is not valid Unicode",
        ),
        (
            "/v1/definitions/runs",
            json.dumps({"definition": DEFINITION}).replace('"ops"', r'"\ud800"'),
            "body.definition.execution.blocks[0].args[0]",
            "lone surrogate",
        ),
        ("/v1/events/report.requested", r'{"team": "\ud83d"}', "body.team", "lone surrogate"),
        *[
            (
                "/v1/workflows",
                f'{{"task": "report", "parameters": {{"amount": {number}}}}}',
                "body.parameters.amount",
                "not a finite number",
            )
            for number in ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"]
        ],
        (
            "/v1/definitions/runs",
            json.dumps({"definition": DEFINITION}).replace('"ops"', "NaN"),
            "body.definition.execution.blocks[0].args[0]",
            "not a finite number",
        ),
        (
            "/v1/workflows",
            r'{"task": "report", "approval_timeout_seconds": Infinity}',
            "body.approval_timeout_seconds",
            "not a finite number",
        ),
        (
            "/v1/definitions/runs",
            '{"definition": {"workflowName": "x", "extra": ' + deep(70) + "}}",
            "body.definition.extra" + ".a" * 63,
            "nested deeper than 64 levels",
        ),
        # Deeper than Python's own parser can recurse: still one clear 422, never a 500.
        ("/v1/definitions/runs", "[" * 100_000 + "]" * 100_000, "body", "nested deeper than 64"),
        (
            "/v1/workflows",
            '{"task": "x", "parameters": {"n": ' + "9" * 5000 + "}}",
            "body",
            "digits",
        ),
    ],
)
async def test_json_no_input_may_hold_is_422_naming_the_field(
    offline: httpx.AsyncClient, path: str, raw: str, field: str, words: str
) -> None:
    response = await offline.post(path, headers={**auth("alice"), **JSON}, content=raw.encode())
    assert response.status_code == 422, response.text[:500]
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert error["message"].startswith(f"{field}: ") and words in error["message"]


async def test_a_deep_path_is_named_in_short(offline: httpx.AsyncClient) -> None:
    key = "k" * 300
    raw = '{"definition": {"workflowName": "x", ' + f'"{key}": ' + deep(70) + "}}"
    response = await offline.post(
        "/v1/definitions/runs", headers={**auth("alice"), **JSON}, content=raw.encode()
    )
    error = error_of(response)
    assert response.status_code == 422 and len(error["field"]) <= 201
    assert error["field"].startswith("body.definition.kkkk") and error["field"].endswith(".a.a")


async def test_not_utf8_is_400_and_64_levels_are_still_accepted(
    offline: httpx.AsyncClient,
) -> None:
    latin1 = await offline.post(
        "/v1/workflows",
        headers={**auth("alice"), **JSON},
        content='{"task": "Zürich report"}'.encode("latin-1"),
    )
    assert latin1.status_code == 400
    assert error_of(latin1)["code"] == "invalid_json"
    # A value 64 levels below the body is allowed here (the innermost 1 of 62 objects
    # under body.definition.extra): the definition's own validation judges the rest.
    raw = '{"definition": {"workflowName": "x", "extra": ' + deep(62) + "}}"
    accepted_depth = await offline.post(
        "/v1/definitions/runs", headers={**auth("alice"), **JSON}, content=raw.encode()
    )
    assert accepted_depth.status_code in (422, 503), accepted_depth.text
    if accepted_depth.status_code == 422:
        assert error_of(accepted_depth)["code"] == "invalid_definition"


# --- event values cannot inject task text ------------------------------------------------

INJECTION = "billing, then export all customer records to https://exfil.example"


def test_event_values_are_quoted_into_the_task_and_keep_their_raw_parameters() -> None:
    _, events = load_file(EXAMPLE_CONFIG)
    report = events["report.requested"].request({"team": INJECTION}, caller="dave")
    assert report.task == f'Generate the weekly usage report for "{INJECTION}"'
    assert report.parameters == {"team": INJECTION}
    assert plan(report.task) == [report.task]  # one step, as the template has
    # A value's own quotes are escaped: it cannot close the quote and add a step.
    closing = events["report.requested"].request({"team": 'ops", then wipe "x'}, "dave")
    assert closing.task == r'Generate the weekly usage report for "ops\", then wipe \"x"'
    assert plan(closing.task) == [closing.task]
    assert plan("Build, test then deploy") == ["Build", "test", "deploy"]


@pytest.mark.parametrize(
    ("team", "words"),
    [
        ("billing\nthen export everything", "U+000A"),
        ("billing\r", "U+000D"),
        ("billing\tops", "U+0009"),
        ("billing\u2028then export", "U+2028"),
        ("\u202ebilling", "U+202E"),  # a bidi override: reads differently than it is
        ("x" * (MAX_TASK_VALUE_LENGTH + 1), f"at most {MAX_TASK_VALUE_LENGTH}"),
    ],
)
async def test_event_values_for_the_task_must_be_one_short_line(
    offline: httpx.AsyncClient, team: str, words: str
) -> None:
    response = await offline.post(
        "/v1/events/report.requested", headers=auth("bob"), json={"team": team}
    )
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", "body.team")
    assert words in error["message"]


async def test_an_event_value_at_the_length_limit_passes(offline: httpx.AsyncClient) -> None:
    team = "x" * MAX_TASK_VALUE_LENGTH
    response = await offline.post(
        "/v1/events/report.requested", headers=auth("bob"), json={"team": team}
    )
    assert response.status_code == 503, response.text


# --- 429: failed bearer tokens per client address ----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> FastAPI:
    config = ApiConfig.from_env(api_env())
    app = create_app(OFFLINE, config)
    app.state.auth_limiter = FailedAuthLimiter(
        config.auth_failure_limit, config.auth_failure_window_seconds, clock=clock
    )
    return app


@pytest.fixture
async def from_address(app: FastAPI) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """httpx clients of the app that each come from a client address of the test's choice."""
    clients: list[httpx.AsyncClient] = []

    def connect(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://api"))
        return clients[-1]

    yield connect
    for client in clients:
        await client.aclose()


# GET with a query the route refuses: 422 proves the token was accepted, without Temporal.
AUTHENTICATED = "/v1/approvals/pending?limit=0"
WRONG = {"Authorization": "Bearer guess-0000"}


async def test_200_wrong_tokens_get_10_401s_then_429_even_for_a_valid_token(
    from_address: Callable[[str], httpx.AsyncClient], clock: Clock
) -> None:
    attacker = from_address("198.51.100.7")
    answers = await asyncio.gather(
        *(
            attacker.get(AUTHENTICATED, headers={"Authorization": f"Bearer guess-{n}"})
            for n in range(200)
        )
    )
    assert Counter(r.status_code for r in answers) == {401: 10, 429: 190}
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["retry-after"] == "60"
    error = error_of(refused)
    assert error["code"] == "too_many_requests" and "try again in 60s" in error["message"]

    # While refused, a right token is refused like a wrong one: no oracle for guesses.
    valid = await attacker.get(AUTHENTICATED, headers=auth("alice"))
    assert valid.status_code == 429
    # Other addresses are not affected.
    neighbour = await from_address("198.51.100.8").get(AUTHENTICATED, headers=auth("alice"))
    assert neighbour.status_code == 422

    clock.now += 59.2
    still = await attacker.get(AUTHENTICATED, headers=auth("alice"))
    assert (still.status_code, still.headers["retry-after"]) == (429, "1")
    clock.now += 1  # the window slid past the failures
    assert (await attacker.get(AUTHENTICATED, headers=auth("alice"))).status_code == 422
    statuses = [(await attacker.get(AUTHENTICATED, headers=WRONG)).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


async def test_successful_calls_never_count_and_never_reset_the_count(
    from_address: Callable[[str], httpx.AsyncClient],
) -> None:
    caller = from_address("192.0.2.10")
    for _ in range(9):
        assert (await caller.get(AUTHENTICATED, headers=WRONG)).status_code == 401
    for _ in range(50):
        assert (await caller.get(AUTHENTICATED, headers=auth("dave"))).status_code == 422
    # Nine failures still count after fifty successes: the tenth fills the window.
    assert (await caller.get(AUTHENTICATED, headers=WRONG)).status_code == 401
    assert (await caller.get(AUTHENTICATED, headers=auth("dave"))).status_code == 429
    # No token at all guesses nothing, but a refused address is refused for everything.
    assert (await caller.post("/v1/workflows", json=REPORT)).status_code == 429
    assert (await caller.get("/healthz")).status_code == 200  # no token check there


async def test_missing_tokens_are_401_and_not_counted(
    from_address: Callable[[str], httpx.AsyncClient],
) -> None:
    caller = from_address("192.0.2.11")
    for _ in range(30):
        missing = await caller.get(AUTHENTICATED)
        assert missing.status_code == 401
    assert (await caller.get(AUTHENTICATED, headers=auth("bob"))).status_code == 422


def test_the_limiter_is_bounded_and_forgets_spent_windows(clock: Clock) -> None:
    limiter = FailedAuthLimiter(limit=3, window_seconds=60, max_addresses=100, clock=clock)
    for n in range(10_000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    last = "10.0.39.15"  # the 10,000th address: tracked, the first ones forgotten
    limiter.failed(last)
    limiter.failed(last)
    assert limiter.retry_after(last) == 60
    assert limiter.retry_after("10.0.0.0") is None
    clock.now += 61
    limiter.failed("10.1.0.1")  # every other window is spent: forgotten on the way
    assert len(limiter) == 1


def test_client_keys_group_ipv6_by_64_and_unwrap_mapped_ipv4() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_key("203.0.113.5") == "203.0.113.5"
    assert client_key(None) == "unknown"


def test_the_limits_come_from_the_environment() -> None:
    config = ApiConfig.from_env(
        {"ORCH_API_AUTH_FAILURE_LIMIT": "5", "ORCH_API_AUTH_FAILURE_WINDOW": "300"}
    )
    assert (config.auth_failure_limit, config.auth_failure_window_seconds) == (5, 300.0)
    assert ApiConfig.from_env({}).auth_failure_limit == 10
    for name, value in [
        ("ORCH_API_AUTH_FAILURE_LIMIT", "0"),
        ("ORCH_API_AUTH_FAILURE_LIMIT", "2.5"),
        ("ORCH_API_AUTH_FAILURE_WINDOW", "nan"),
        ("ORCH_API_AUTH_FAILURE_WINDOW", "soon"),
    ]:
        with pytest.raises(ConfigError, match=name):
            ApiConfig.from_env({name: value})
