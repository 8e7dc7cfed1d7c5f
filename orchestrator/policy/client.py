"""HTTP client for OPA's Data API. Fails closed: no error path returns an allow.

Every input is normalised first (normalize.py: one spelling per word, case-insensitive
keys, numeric strings as numbers), so how a caller spells something cannot change what
policy decides.

| what happened | exception | Temporal |
|---|---|---|
| input is not JSON (NaN, inf, lone surrogate, too deep) | `PolicyInputInvalid` | not retried |
| connection refused / DNS / reset | `OpaUnreachable` | retried with backoff |
| no answer within the timeout | `OpaTimeout` | retried with backoff |
| HTTP 5xx | `OpaServerError` | retried with backoff |
| HTTP 4xx (OPA rejected the request) | `OpaRequestRejected` | not retried |
| 200 without `result` (policy missing) | `PolicyUndefined` | not retried |
| `result` not a decision object | `PolicyMalformed` | not retried |
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from orchestrator.config import OpaSettings
from orchestrator.policy.contract import PolicyDecision, PolicyInput
from orchestrator.policy.fingerprint import PolicyFingerprint
from orchestrator.policy.normalize import normalize_input
from orchestrator.policy.requirement import parse_requirement
from orchestrator.policy.stale import PolicyWatch, StaleWatcher

# The batch rule wraps this decision (policies/orchestrator/batch/batch.rego).
DEFAULT_DECISION_PATH = OpaSettings.decision_path
BATCH_PATH = "orchestrator/batch/verdicts"
# The default decision with the default candidate's beside it (policies/orchestrator/paired).
PAIRED_PATH = "orchestrator/paired/decision"
DEFAULT_SHADOW_PATH = OpaSettings.shadow_decision_path
JSON_CONTENT = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Verdict:
    """A read-only question's answer: may it be done, and the policy's words."""

    allow: bool
    reasons: list[str]


class PolicyError(Exception):
    """Base of every way asking OPA can fail. `retryable` says whether asking again may help."""

    retryable = False
    error_class = "error"


class PolicyUnavailable(PolicyError):
    retryable = True


class OpaUnreachable(PolicyUnavailable):
    error_class = "unreachable"


class OpaTimeout(PolicyUnavailable):
    error_class = "timeout"


class OpaServerError(PolicyUnavailable):
    error_class = "server_error"


class OpaRequestRejected(PolicyError):
    error_class = "rejected"


class PolicyInputInvalid(PolicyError):
    """The input cannot be encoded as JSON: asking again would send the same bytes."""

    error_class = "invalid_input"


class PolicyUndefined(PolicyError):
    error_class = "undefined"


class PolicyMalformed(PolicyError):
    error_class = "malformed"


def new_http_client(settings: OpaSettings) -> httpx.AsyncClient:
    """One pooled keep-alive client per process: a decision costs one round trip, no handshake."""
    return httpx.AsyncClient(
        base_url=settings.url,
        timeout=httpx.Timeout(settings.timeout_seconds, connect=min(settings.timeout_seconds, 1.0)),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30),
        headers={"Content-Type": "application/json"},
    )


class OpaClient:
    """Asks OPA. `watch`: the folder OPA watches, where this process can read it (the local
    stack), so that a reload OPA refused is logged as stale policy (stale.py)."""

    def __init__(
        self,
        settings: OpaSettings,
        http: httpx.AsyncClient | None = None,
        *,
        watch: PolicyWatch | None = None,
    ) -> None:
        self.settings = settings
        self.http = http or new_http_client(settings)
        self._urls: dict[tuple[str, bool], httpx.URL] = {}
        # The revision each decision records carries a digest of what OPA loaded.
        self.fingerprint = PolicyFingerprint(settings.url, self.http)
        self.stale = StaleWatcher(watch, self.fingerprint) if watch else None

    async def aclose(self) -> None:
        if self.stale:
            await self.stale.aclose()
        await self.fingerprint.aclose()
        await self.http.aclose()

    async def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        decision, _ = await self.decide_paired(policy_input, self.settings.decision_path)
        return decision

    async def decide_paired(
        self, policy_input: PolicyInput, path: str = PAIRED_PATH
    ) -> tuple[PolicyDecision, Any]:
        """The enforcing decision, asked at `path`, and OPA's whole answer (at PAIRED_PATH
        it holds the candidate's decision under `result.shadow`, when there is one)."""
        started = time.perf_counter()
        # metrics: whether OPA compiled the query for this answer (a change since).
        body = await self._post(path, encode_input(policy_input), metrics=True)
        decision = parse_decision(body, self.settings.decision_path, policy_input.action)
        revision = await self.fingerprint.revision(decision.policy_revision, body)
        if self.stale:
            self.stale.poll()
        elapsed_ms = (time.perf_counter() - started) * 1000
        decided = replace(decision, policy_revision=revision, evaluated_ms=round(elapsed_ms, 3))
        return decided, body

    @property
    def pairs(self) -> bool:
        """Whether the paired rule wraps the policies this client is set to ask."""
        return (
            self.settings.decision_path == DEFAULT_DECISION_PATH
            and self.settings.shadow_decision_path == DEFAULT_SHADOW_PATH
        )

    async def verdicts(self, inputs: list[PolicyInput]) -> list[Verdict]:
        """Allow and reasons for each input, in one request (policies/orchestrator/batch).

        For read-only questions (the console's "may this viewer decide?"), never for a
        workflow's own decision: a verdict has no decision id, revision or requirement.
        When OPA_DECISION_PATH names another policy than the one the batch rule wraps,
        each input is decided on its own instead.
        """
        if not inputs:
            return []
        if self.settings.decision_path != DEFAULT_DECISION_PATH:
            decisions = [await self.decide(policy_input) for policy_input in inputs]
            return [Verdict(d.allow, list(d.reasons)) for d in decisions]
        body = await self._post(BATCH_PATH, encode_inputs(inputs))
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list) or len(result) != len(inputs):
            raise PolicyMalformed(
                f"OPA's answer for {BATCH_PATH} is not one verdict per input: is "
                "policies/orchestrator/batch loaded?"
            )
        return [_verdict(each) for each in result]

    async def query(self, decision_path: str, policy_input: PolicyInput) -> Any:
        """OPA's raw answer for `decision_path` (also the shadow policy's, shadow.py)."""
        return await self._post(decision_path, encode_input(policy_input))

    def _url(self, decision_path: str, metrics: bool) -> httpx.URL:
        """The request's absolute URL, parsed once per path: parsing and merging it with
        the base URL and the query on every call was a tenth of the client's own time."""
        key = (decision_path, metrics)
        url = self._urls.get(key)
        if url is None:
            query = {"provenance": "true", "metrics": "true"} if metrics else {"provenance": "true"}
            url = httpx.URL(f"{self.settings.url}/v1/data/{decision_path}", params=query)
            self._urls[key] = url
        return url

    async def _post(self, decision_path: str, content: bytes, *, metrics: bool = False) -> Any:
        where = f"{self.settings.url}/v1/data/{decision_path}"
        try:
            response = await self.http.post(
                self._url(decision_path, metrics), content=content, headers=JSON_CONTENT
            )
        except httpx.TimeoutException:
            raise OpaTimeout(
                f"OPA at {where} did not answer within {self.settings.timeout_seconds}s."
            ) from None
        except httpx.TransportError as error:
            raise OpaUnreachable(
                f"OPA at {where} is unreachable ({type(error).__name__}: {error})."
            ) from None
        if response.status_code >= 500:
            raise OpaServerError(
                f"OPA at {where} answered HTTP {response.status_code}: {_snippet(response.text)}"
            )
        if response.status_code >= 400:
            raise OpaRequestRejected(
                f"OPA at {where} rejected the request with HTTP {response.status_code}: "
                f"{_snippet(response.text)}"
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PolicyMalformed(
                f"OPA at {where} answered with something that is not JSON: "
                f"{_snippet(response.text)}"
            ) from None


def encode_input(policy_input: PolicyInput) -> bytes:
    """The request body: `{"input": ...}`, normalised, as compact UTF-8 JSON.

    Encoded here rather than by httpx so that every local failure is one non-retryable
    PolicyInputInvalid saying what is wrong: the same input fails the same way on every
    attempt, so retrying it would only repeat the failure (and its traceback) forever.
    """
    return _encode(lambda: {"input": normalize_input(policy_input.to_opa())}, policy_input)


def encode_inputs(inputs: list[PolicyInput]) -> bytes:
    """The batch rule's body: `{"input": {"inputs": [...]}}`, each input as encode_input's."""
    return _encode(
        lambda: {"input": {"inputs": [normalize_input(each.to_opa()) for each in inputs]}}, None
    )


def _encode(document: Callable[[], Any], policy_input: PolicyInput | None) -> bytes:
    try:
        text = json.dumps(document(), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")
    except RecursionError:
        problem = "it is nested too deeply to encode"
    except UnicodeEncodeError as error:
        # A lone surrogate such as "\ud800": valid in a Python str, not in UTF-8 or JSON.
        bad = error.object[error.start : error.end]
        problem = f"it holds text that is not valid Unicode ({bad!r}: {error.reason})"
    except ValueError as error:
        # allow_nan=False: NaN and infinity are not JSON numbers; also circular references.
        problem = f"it holds a value JSON cannot express: NaN, infinity or a cycle ({error})"
    except TypeError as error:
        problem = f"it holds a value that is not JSON ({error})"
    raise _invalid(policy_input, problem)


def _invalid(policy_input: PolicyInput | None, problem: str) -> PolicyInputInvalid:
    what = (
        f"The {policy_input.action} policy input for workflow {policy_input.workflow.id}"
        if policy_input
        else "A batch of policy inputs"
    )
    return PolicyInputInvalid(
        f"{what} cannot be sent to OPA: {problem}. Asking again would fail the same way."
    )


def _verdict(each: Any) -> Verdict:
    """One entry of the batch answer; anything but {allow: bool, reasons: [str]} is malformed."""
    allow = each.get("allow") if isinstance(each, dict) else None
    reasons = each.get("reasons") if isinstance(each, dict) else None
    if not isinstance(allow, bool) or not isinstance(reasons, list):
        raise PolicyMalformed(f"A verdict in OPA's answer for {BATCH_PATH} is malformed: {each!r}")
    return Verdict(allow, [str(reason) for reason in reasons])


def parse_decision(body: Any, decision_path: str, action: str) -> PolicyDecision:
    """Turn OPA's answer into a decision, or raise why it is not one."""
    if not isinstance(body, dict):
        raise PolicyMalformed(f"OPA's answer for {decision_path} is not a JSON object.")
    if "result" not in body:
        raise PolicyUndefined(
            f"OPA has no decision at '{decision_path}': the policy is missing (not loaded, or "
            f"OPA_DECISION_PATH is wrong). Check that OPA loads policies/ and defines that rule."
        )
    result = body["result"]
    if not isinstance(result, dict):
        raise PolicyMalformed(
            f"The decision at '{decision_path}' is {type(result).__name__}, not an object "
            f"with allow, reasons and require_approval."
        )
    problems = []
    allow = result.get("allow")
    if not isinstance(allow, bool):
        problems.append("allow must be true or false")
    reasons = result.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        problems.append("reasons must be a list of strings")
    require_approval = result.get("require_approval", False)
    if not isinstance(require_approval, bool):
        problems.append("require_approval must be true or false")
    risk = result.get("risk", "unknown")
    if not isinstance(risk, str):
        problems.append("risk must be a string")
    requirement, requirement_problems = parse_requirement(result.get("approval"), "approval")
    problems.extend(requirement_problems)
    if problems:
        raise PolicyMalformed(
            f"The decision at '{decision_path}' is malformed: {'; '.join(problems)}."
        )
    provenance = body.get("provenance")
    if not isinstance(provenance, dict):
        provenance = {}
    return PolicyDecision(
        action=action,
        allow=bool(allow),
        reasons=list(reasons or []),
        require_approval=bool(allow) and bool(require_approval),
        risk=str(risk),
        decision_id=str(body.get("decision_id", "")),
        policy_revision=_revision(result, provenance),
        opa_version=str(provenance.get("version", "")),
        decision_path=decision_path,
        approval=requirement if allow and require_approval else None,
    )


def _revision(result: dict[str, Any], provenance: dict[str, Any]) -> str:
    """The bundle revision OPA reports, else the version the policy states about itself.
    OpaClient.decide adds the digest of what OPA loaded (fingerprint.py)."""
    bundles = provenance.get("bundles")
    if isinstance(bundles, dict):
        revisions = sorted(
            str(b["revision"])
            for b in bundles.values()
            if isinstance(b, dict) and b.get("revision")
        )
        if revisions:
            return ",".join(revisions)
    return str(result.get("policy_version", ""))


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
