"""The attributes a policy decision leaves on the policy activity's span.

The one definition of the `orchestrator.policy.*` names: the activity sets them, the trace
viewer (`telemetry.waterfall`) shows them, tests query Jaeger for them.

Only the decision and its provenance go on spans, never user data: no task description,
no parameters, no requester, no reason texts (they may quote the input). Spans are kept by
a tracing backend with far looser access control than the workflow history, and the
decision id is enough to join the span with OPA's decision log when the detail is needed.

OPA's decision log is where the detail is kept, for audit, with one exception: secrets.
OPA masks them before it writes a decision (policies/system/log/mask.rego): the values of
the sensitive keys below and anything that looks like an e-mail address, an API key or a
token. The key lists are defined once, in policies/orchestrator/settings/data.yaml
(`sensitive`), and copied here because the worker image carries no policies/;
tests/policy/test_decision_log_mask.py fails when the copy drifts. `is_sensitive_key` is
the same rule as the Rego `sensitive_key`, for Python code that must decide the same.

A deny is not marked as a span error: answering "deny" is the activity doing its job. The
workflow span carries the error, because the workflow fails with PolicyDenied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

PREFIX = "orchestrator.policy."

ACTION = PREFIX + "action"
ALLOW = PREFIX + "allow"
REASONS_COUNT = PREFIX + "reasons_count"
REQUIRE_APPROVAL = PREFIX + "require_approval"
RISK = PREFIX + "risk"
DECISION_ID = PREFIX + "decision_id"
REVISION = PREFIX + "revision"
OPA_VERSION = PREFIX + "opa_version"
# Which step of a declarative run the decision is about: its place in the definition
# (`execution.blocks[2]`) and its activity, names from the definition, never its arguments.
STEP_PATH = PREFIX + "step.path"
STEP_ACTIVITY = PREFIX + "step.activity"

# In the order the trace viewer prints them.
ALL = (
    ACTION,
    STEP_PATH,
    STEP_ACTIVITY,
    ALLOW,
    REQUIRE_APPROVAL,
    RISK,
    REASONS_COUNT,
    DECISION_ID,
    REVISION,
    OPA_VERSION,
)

# A copy of policies/orchestrator/settings/data.yaml `sensitive.key_parts` and `key_words`
# (see the module docstring): a key is sensitive when, without case and separators, it
# contains a part ("dbPassword", "X-API-Key"), or one of its words is a word or its plural
# ("private_key"; not "keyboard").
SENSITIVE_KEY_PARTS = (
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "email",
    "passphrase",
    "passwd",
    "password",
    "secret",
    "token",
)
SENSITIVE_KEY_WORDS = ("auth", "key", "pw", "pwd")

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")
_CAMEL_RUN = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+|[0-9]+")


def is_sensitive_key(key: str) -> bool:
    """Whether a parameter or argument key holds a secret (the Rego `sensitive_key`)."""
    compact = _NOT_ALPHANUMERIC.sub("", key.lower())
    if any(_NOT_ALPHANUMERIC.sub("", part) in compact for part in SENSITIVE_KEY_PARTS):
        return True
    spaced = _CAMEL.sub(r"\1 \2", _CAMEL_RUN.sub(r"\1 \2", key))
    words = _WORD.findall(spaced.lower())
    return any(word in (listed, listed + "s") for word in words for listed in SENSITIVE_KEY_WORDS)


def decision_attributes(
    *,
    action: str,
    allow: bool,
    reasons_count: int,
    require_approval: bool,
    risk: str,
    decision_id: str,
    revision: str,
    opa_version: str,
    step_path: str = "",
    step_activity: str = "",
) -> dict[str, AttributeValue]:
    """The span attributes of one decision, typed as OTLP keeps them (bools and ints stay so).

    The step's path and activity only for a decision about a step (they are left out, not
    empty, for the others).
    """
    attributes: dict[str, AttributeValue] = {
        ACTION: action,
        ALLOW: allow,
        REASONS_COUNT: reasons_count,
        REQUIRE_APPROVAL: require_approval,
        RISK: risk,
        DECISION_ID: decision_id,
        REVISION: revision,
        OPA_VERSION: opa_version,
    }
    if step_path:
        attributes[STEP_PATH] = step_path
    if step_activity:
        attributes[STEP_ACTIVITY] = step_activity
    return attributes


def annotate_current_span(
    *,
    action: str,
    allow: bool,
    reasons_count: int,
    require_approval: bool,
    risk: str,
    decision_id: str,
    revision: str,
    opa_version: str,
    step_path: str = "",
    step_activity: str = "",
) -> None:
    """Set the decision's attributes on the current span (the activity's RunActivity span).

    `step_path` and `step_activity`: the declarative step the decision is about (the
    input's `step`), so the trace says which of a run's many step decisions this is. A
    no-op when there is no recording span, e.g. with tracing disabled.
    """
    trace.get_current_span().set_attributes(
        decision_attributes(
            action=action,
            allow=allow,
            reasons_count=reasons_count,
            require_approval=require_approval,
            risk=risk,
            decision_id=decision_id,
            revision=revision,
            opa_version=opa_version,
            step_path=step_path,
            step_activity=step_activity,
        )
    )


def policy_attributes(attributes: Mapping[str, object]) -> dict[str, object]:
    """The decision attributes among a span's attributes, unprefixed: the known ones in
    display order, then any others under the prefix (added later, still worth showing)."""
    known = [key for key in ALL if key in attributes]
    others = sorted(key for key in attributes if key.startswith(PREFIX) and key not in ALL)
    return {key.removeprefix(PREFIX): attributes[key] for key in [*known, *others]}


SHADOW_EVENT = PREFIX + "shadow_disagreement"
SHADOW_AGREES = PREFIX + "shadow.agrees"


def record_shadow_event(
    *,
    action: str,
    outcome: str,
    agrees: bool,
    shadow_outcome: str,
    shadow_revision: str,
    differences: list[str],
    error: str,
) -> None:
    """Mark the current span with the candidate's verdict; a disagreement adds an event.

    The event carries outcomes, the candidate's revision and the names of what differs
    ("outcome: allow -> approval_required"), never the reasons, which may quote input.
    """
    span = trace.get_current_span()
    span.set_attribute(SHADOW_AGREES, agrees)
    if agrees:
        return
    span.add_event(
        SHADOW_EVENT,
        {
            ACTION: action,
            PREFIX + "outcome": outcome,
            PREFIX + "shadow.outcome": shadow_outcome,
            PREFIX + "shadow.revision": shadow_revision,
            PREFIX + "shadow.differences": list(differences),
            PREFIX + "shadow.error": error,
        },
    )


# Each decision is also an event on the policy span, modelled on OpenTelemetry's
# `feature_flag.evaluation` event (the closest convention for "a rule engine answered"):
# the decision path is the flag's key, the outcome its variant, the policy revision its
# version. Like the span attributes: outcomes and ids only, never input values or reasons.
DECISION_EVENT = "feature_flag.evaluation"
FLAG_KEY = "feature_flag.key"
FLAG_PROVIDER = "feature_flag.provider.name"
FLAG_VARIANT = "feature_flag.result.variant"
FLAG_REASON = "feature_flag.result.reason"
FLAG_VERSION = "feature_flag.version"
ERROR_TYPE = "error.type"
SHADOW_VERDICT = PREFIX + "shadow.verdict"


def record_decision_event(
    *,
    path: str,
    action: str,
    outcome: str,
    reasons_count: int,
    revision: str,
    decision_id: str,
    shadow_verdict: str,
) -> None:
    """Add the decision's event to the current span (a no-op when none records)."""
    trace.get_current_span().add_event(
        DECISION_EVENT,
        {
            FLAG_KEY: path,
            FLAG_PROVIDER: "opa",
            FLAG_VARIANT: outcome,
            # The rules matched this input (OPA's answer, not a default or a cached one).
            FLAG_REASON: "targeting_match",
            FLAG_VERSION: revision,
            ACTION: action,
            REASONS_COUNT: reasons_count,
            DECISION_ID: decision_id,
            SHADOW_VERDICT: shadow_verdict,
        },
    )


def record_failed_decision_event(*, path: str, action: str, error_class: str) -> None:
    """The event of a decision OPA did not give (down, slow, 5xx, undefined, malformed):
    reason `error`, its class as `error.type`; the gate stays closed."""
    trace.get_current_span().add_event(
        DECISION_EVENT,
        {
            FLAG_KEY: path,
            FLAG_PROVIDER: "opa",
            FLAG_REASON: "error",
            ERROR_TYPE: error_class,
            ACTION: action,
        },
    )
