"""Step 3 of validation: the JSON Schema (schema.json, draft 2020-12), its errors
rewritten for people (what is required and why, unknown fields with a suggestion, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from orchestrator.declarative.problem import Problem, join_path, suggest
from orchestrator.declarative.signature import json_kind

SCHEMA: dict[str, Any] = json.loads(
    resources.files("orchestrator.declarative").joinpath("schema.json").read_text("utf-8")
)
_VALIDATOR = Draft202012Validator(SCHEMA)

_REQUIRED_HINTS = {
    "activityName": "the catalog name of the activity to run",
    "blocks": "the list of blocks to run",
    "workflowName": "the definition's name",
    "type": "activity, sequential, parallel or approval",
}


def schema_problems(document: Any) -> list[Problem]:
    found = []
    for error in _VALIDATOR.iter_errors(document):
        found.extend(_explain(error))
    return found


def _explain(error: ValidationError) -> list[Problem]:
    path = _format_path(error.absolute_path)
    instance: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator = error.validator
    value: Any = error.validator_value
    if validator == "required":
        missing = [key for key in value if isinstance(instance, dict) and key not in instance]
        return [
            Problem(join_path(path, key), f"is required ({_REQUIRED_HINTS.get(key, 'missing')})")
            for key in missing
        ]
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extras = [
            key
            for key in instance
            if key not in allowed and not any(re.search(p, key) for p in patterns)
        ]
        return [
            Problem(
                join_path(path, key),
                f"unknown field{suggest(key, allowed)}; allowed here: {', '.join(allowed)}",
            )
            for key in extras
        ]
    if validator == "oneOf" and path == "":
        if isinstance(instance, dict) and "execution" in instance and "activities" in instance:
            message = (
                "has both execution and activities: keep one (activities is the older "
                "flat form of one sequential block)"
            )
        else:
            message = "needs execution (a block) or activities (the older flat list of steps)"
        return [Problem("", message)]
    if validator == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        return [Problem(path, f"must be {_article(expected)}, not {json_kind(instance)}")]
    if validator in ("enum", "const"):
        options = value if validator == "enum" else [value]
        shown = ", ".join(str(option) for option in options)
        suggestion = (
            suggest(instance, [str(o) for o in options]) if isinstance(instance, str) else ""
        )
        if path.endswith("onPolicyUnavailable"):
            suggestion += " (fail-open is not offered: an unavailable policy never lets work run)"
        return [Problem(path, f"must be one of: {shown}; not {json_kind(instance)}{suggestion}")]
    if validator == "minItems":
        return [
            Problem(path, "must not be empty" if value == 1 else f"needs at least {value} items")
        ]
    if validator == "minProperties":
        return [Problem(path, "must not be empty")]
    if validator == "minLength":
        return [Problem(path, "must not be empty")]
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[validator]
        return [Problem(path, f"must be {relation} {value}, not {instance}")]
    if validator == "pattern":
        what = schema.get("title", "value")
        description = schema.get("description", f"must match {value}")
        return [Problem(path, f"{json.dumps(instance)[:60]} is not a valid {what}: {description}")]
    return [Problem(path, error.message)]


def _format_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else join_path(path, str(part))
    return path


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"
