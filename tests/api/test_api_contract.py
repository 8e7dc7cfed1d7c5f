"""What the API answers before it needs Temporal: auth, validation, limits, errors, schema.

Temporal is pointed at a closed port here, so a request that got past validation would
answer 503; every assertion below is about what is decided first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal, get_args, get_origin, get_type_hints

import httpx
import pytest

from orchestrator.api import ApiConfig, create_app
from orchestrator.api.config import EventMapping, load_file, parse_tokens
from orchestrator.api.idempotency import workflow_id_for
from orchestrator.api.models import Receipt
from orchestrator.api.temporal import Temporal
from orchestrator.approvals.client import send_decision
from orchestrator.config import ConfigError
from orchestrator.policy.contract import ApprovalDecision
from tests.api.conftest import EXAMPLE_CONFIG, OFFLINE, api_env, auth, error_of


async def test_every_v1_route_needs_a_valid_bearer_token(offline: httpx.AsyncClient) -> None:
    paths = create_app(OFFLINE, ApiConfig()).openapi()["paths"]
    routes = [(m.upper(), p) for p, ops in paths.items() if p.startswith("/v1") for m in ops]
    assert len(routes) == 7
    for method, template in routes:
        path = template.replace("{workflow_id}", "wf-1").replace("{name}", "deploy.requested")
        for headers, challenge in [
            ({}, 'Bearer realm="orchestrator"'),
            ({"Authorization": "Bearer not-a-token"}, 'error="invalid_token"'),
            ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 'Bearer realm="orchestrator"'),
        ]:
            response = await offline.request(method, path, headers=headers, json={"task": "x"})
            assert response.status_code == 401, (method, path, headers)
            assert challenge in response.headers["www-authenticate"]
            assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "body.task", "Field required"),
        ({"task": ""}, "body.task", "at least 1 character"),
        ({"task": "   "}, "body.task", "should match pattern"),
        ({"task": "x" * 2001}, "body.task", "at most 2000 characters"),
        ({"task": "x", "requester": "bob"}, "body.requester", "Extra inputs are not permitted"),
        ({"task": "x", "parameters": {"bad name": 1}}, "body.parameters.bad name", ""),
        ({"task": "x", "parameters": {"env": {"nested": 1}}}, "body.parameters.env", ""),
        ({"task": "x", "parameters": {"env": "x" * 1001}}, "body.parameters.env", "1000"),
        ({"task": "x", "parameters": {f"p{i}": i for i in range(51)}}, "body.parameters", "50"),
        (
            {"task": "x", "approval_timeout_seconds": 0},
            "body.approval_timeout_seconds",
            "greater than or equal to 1",
        ),
        ({"task": "x", "kind": "a b"}, "body.kind", "pattern"),
        ([1, 2], "body", "valid dictionary"),
    ],
)
async def test_invalid_start_bodies_are_422_naming_the_field(
    offline: httpx.AsyncClient, body: object, field: str, words: str
) -> None:
    response = await offline.post("/v1/workflows", headers=auth("alice"), json=body)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert error["message"].startswith(field.split(".")[0])
    assert words in error["message"]


async def test_malformed_json_is_400_and_oversized_bodies_413(offline: httpx.AsyncClient) -> None:
    headers = {**auth("alice"), "Content-Type": "application/json"}
    broken = await offline.post("/v1/workflows", headers=headers, content=b'{"task": ')
    assert broken.status_code == 400
    assert error_of(broken) == {
        "code": "invalid_json",
        "message": "The body is not valid JSON.",
        "field": "body",
    }
    big = json.dumps({"task": "x", "parameters": {"p": "y" * 300_000}}).encode()
    declared = await offline.post("/v1/workflows", headers=headers, content=big)
    assert declared.status_code == 413
    assert error_of(declared)["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    streamed = await offline.post("/v1/workflows", headers=headers, content=chunks())
    assert streamed.status_code == 413
    assert error_of(streamed)["code"] == "payload_too_large"


async def test_events_headers_and_queries_are_checked_before_temporal(
    offline: httpx.AsyncClient,
) -> None:
    alice = auth("alice")
    unknown = await offline.post("/v1/events/no.such.event", headers=alice, json={})
    assert unknown.status_code == 404
    assert error_of(unknown)["message"] == (
        "No mapping for event 'no.such.event' (known: deploy.requested, report.requested)."
    )
    missing = await offline.post(
        "/v1/events/deploy.requested", headers=alice, json={"service": "billing"}
    )
    assert missing.status_code == 422
    assert error_of(missing)["field"] == "body.environment"
    nested = await offline.post(
        "/v1/events/report.requested", headers=alice, json={"team": ["a", "b"]}
    )
    assert (nested.status_code, error_of(nested)["field"]) == (422, "body.team")
    bad_key = await offline.post(
        "/v1/workflows", headers={**alice, "Idempotency-Key": "has spaces"}, json={"task": "x"}
    )
    assert (bad_key.status_code, error_of(bad_key)["field"]) == (422, "header.idempotency-key")
    limit = await offline.get("/v1/approvals/pending?limit=0", headers=alice)
    assert (limit.status_code, error_of(limit)["field"]) == (422, "query.limit")
    bad_id = await offline.get("/v1/workflows/..%2Fetc", headers=alice)
    assert bad_id.status_code in (404, 422)


async def test_temporal_down_is_503_and_readiness_says_so(offline: httpx.AsyncClient) -> None:
    assert (await offline.get("/healthz")).json() == {"status": "ok", "temporal": None}
    ready = await offline.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "unavailable", "temporal": "unreachable"},
    )
    start = await offline.post("/v1/workflows", headers=auth("alice"), json={"task": "x"})
    assert start.status_code == 503
    assert start.headers["retry-after"] == "5"
    assert error_of(start) == {
        "code": "temporal_unavailable",
        "message": "Temporal at 127.0.0.1:9 is not reachable; try again shortly.",
    }


async def test_unexpected_errors_answer_500_without_details(
    offline: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Temporal) -> None:
        raise KeyError("secret-internal-detail")

    monkeypatch.setattr(Temporal, "client", broken)
    response = await offline.get("/v1/workflows/wf-1", headers=auth("alice"))
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal"
    assert "secret-internal-detail" not in response.text
    assert "see the API's log" in error["message"]


async def test_openapi_schema_and_docs_are_published(offline: httpx.AsyncClient) -> None:
    schema = (await offline.get("/openapi.json")).json()
    assert set(schema["paths"]) == {
        "/v1/workflows",
        "/v1/definitions/runs",
        "/v1/events/{name}",
        "/v1/workflows/{workflow_id}/approve",
        "/v1/workflows/{workflow_id}/reject",
        "/v1/workflows/{workflow_id}",
        "/v1/approvals/pending",
        "/healthz",
        "/readyz",
    }
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    start = schema["paths"]["/v1/workflows"]["post"]
    assert {"202", "200", "401", "413", "415", "422", "429"} <= set(start["responses"])
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1"):  # every token check can answer 429
                assert "429" in operation["responses"], (method, path)
            if "requestBody" in operation:  # every body is JSON or 415
                assert "415" in operation["responses"], (method, path)
    assert any(p["name"] == "Idempotency-Key" for p in start["parameters"])
    docs = await offline.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_approve_and_reject_are_one_route_per_decision_named_for_it() -> None:
    paths = create_app(OFFLINE, ApiConfig()).openapi()["paths"]
    approve, reject = (
        paths[f"/v1/workflows/{{workflow_id}}/{decision}"]["post"]
        for decision in get_args(ApprovalDecision)
    )
    assert approve["operationId"] == "approve_v1_workflows__workflow_id__approve_post"
    assert reject["operationId"] == "reject_v1_workflows__workflow_id__reject_post"
    assert approve["summary"].startswith("Approve ") and reject["summary"].startswith("Reject ")
    assert "never their own request" in approve["description"] and "description" not in reject
    assert approve["responses"] == reject["responses"]
    assert approve["requestBody"] == reject["requestBody"]


def test_the_api_receipt_is_the_workflow_receipt_with_its_workflow_id() -> None:
    # Receipt is written out (it is the published schema); this keeps it the same fields,
    # types and defaults as what the approve/reject update returns. A Literal there is a
    # plain string here: an enum in the schema would change the published document.
    returned = get_type_hints(send_decision)["return"]
    types = get_type_hints(returned)
    expected = {}
    for f in dataclasses.fields(returned):
        kind = types[f.name]
        if get_origin(kind) is Literal:
            kind = type(get_args(kind)[0])
        expected[f.name] = (kind, f.default is dataclasses.MISSING, f.default)
    published = {
        name: (field.annotation, field.is_required(), field.default)
        for name, field in Receipt.model_fields.items()
        if name != "workflow_id"
    }
    assert list(published) == list(expected)
    for name, (annotation, required, default) in expected.items():
        assert published[name][:2] == (annotation, required), name
        assert required or published[name][2] == default, name


def test_tokens_and_identities_from_the_environment_and_the_file(tmp_path: Path) -> None:
    config = ApiConfig.from_env(api_env())
    assert config.identify("bob-token-8e2d4c6a1f0b") == "bob"
    assert config.identify("bob-token-8e2d4c6a1f0") is None
    assert config.identify("") is None
    with pytest.raises(ConfigError, match="expected token:identity"):
        parse_tokens("just-a-token", "ORCH_API_TOKENS")
    with pytest.raises(ConfigError, match="identity 'Bob Smith' is not a user id"):
        parse_tokens("tok:Bob Smith", "ORCH_API_TOKENS")

    digest = hashlib.sha256(b"erin-token").hexdigest()
    hashed = tmp_path / "api.yaml"
    hashed.write_text(f"tokens:\n  - identity: erin\n    sha256: {digest}\n")
    from_file = ApiConfig.from_env({"ORCH_API_CONFIG": str(hashed)})
    assert from_file.identify("erin-token") == "erin"
    assert "erin-token" not in repr(from_file)

    hashed.write_text("tokens:\n  - identity: erin\n    token: plain\n")
    with pytest.raises(ConfigError, match=r"tokens\[0\]: expected \{identity"):
        load_file(hashed)
    hashed.write_text("events:\n  deploy:\n    task: Deploy\n    requester: '{who}'\n")
    with pytest.raises(ConfigError, match=r"events.deploy.requester: identity '\{who\}'"):
        load_file(hashed)
    with pytest.raises(ConfigError, match="ORCH_API_MAX_BODY_BYTES='lots'"):
        ApiConfig.from_env({"ORCH_API_MAX_BODY_BYTES": "lots"})


def test_event_mappings_fill_placeholders_and_keep_types() -> None:
    _, events = load_file(EXAMPLE_CONFIG)
    deploy = events["deploy.requested"]
    assert deploy.fields == ["service", "environment", "version"]
    request = deploy.request(
        {"service": "billing", "environment": "production", "version": "1.4", "extra": 1},
        caller="alice",
    )
    # Values go into the task as JSON literals (strings quoted); parameters keep them raw.
    assert request.task == 'Deploy the "billing" service to "production"'
    assert request.requester == "alice"
    assert request.parameters == {
        "service": "billing",
        "environment": "production",
        "version": "1.4",
    }
    assert (request.kind, request.approval_timeout_seconds) == ("deploy", 4 * 3600)
    assert events["report.requested"].request({"team": "ops"}, caller="dave").requester == (
        "scheduler"
    )
    typed = EventMapping(name="pay", task="Pay {amount} to {to}", parameters={"amount": "{amount}"})
    paid = typed.request({"amount": 12000, "to": "acme"}, "alice")
    assert (paid.task, paid.parameters) == ('Pay 12000 to "acme"', {"amount": 12000})
    # Placeholders are names only: no attribute or index access into the body.
    odd = EventMapping(name="odd", task="x {a.__class__} {b[0]}")
    assert odd.fields == [] and odd.request({}, "alice").task == "x {a.__class__} {b[0]}"


def test_idempotency_keys_map_to_stable_ids_per_caller() -> None:
    first = workflow_id_for("evt", "alice", "deploy.requested", "delivery-42")
    assert first == workflow_id_for("evt", "alice", "deploy.requested", "delivery-42")
    assert first.startswith("evt-") and len(first) == 4 + 24
    assert first != workflow_id_for("evt", "bob", "deploy.requested", "delivery-42")
    assert first != workflow_id_for("evt", "alice", "report.requested", "delivery-42")
    assert workflow_id_for("api", "alice", "workflows", None) != workflow_id_for(
        "api", "alice", "workflows", None
    )
