"""References to named results and the `when:` condition language. Never Python eval.

References, inside any string of a step's `args`:

- `"${results.NAME}"` as the whole string is replaced by the result itself (any JSON);
- `"${results.NAME.field.0}"` goes into objects by key and arrays by index;
- inside a longer string, `"total: ${results.sum}"`, the value is interpolated as text
  (strings as they are, anything else as compact JSON with sorted keys);
- `$${` is a literal `${`.

Conditions (`when:`) are JSON objects, evaluated deterministically against named results:

- `{result: NAME[.path], equals: VALUE}` / `notEquals: VALUE` / `in: [VALUES]`
- `{exists: NAME[.path]}`: the result was produced (by a step that ran) and has that path
- `{not: CONDITION}`, `{all: [CONDITIONS]}`, `{any: [CONDITIONS]}`

A comparison with a missing result is false (`notEquals` too), so `exists` guards steps
whose inputs may be missing. Equality is JSON equality: `true` is not `1`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
RESULT_NAME = re.compile(rf"^{NAME_PATTERN}$")
RESULT_PATH = re.compile(rf"^({NAME_PATTERN})((?:\.[A-Za-z0-9_-]+)*)$")
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_REFERENCE_BODY = re.compile(rf"^results\.({NAME_PATTERN})((?:\.[A-Za-z0-9_-]+)*)$")

COMPARISONS = ("equals", "notEquals", "in")
OPERATORS = ("result", *COMPARISONS, "exists", "not", "all", "any")


@dataclass(frozen=True)
class Reference:
    """`results.NAME.a.0`: a named result and a path into it."""

    name: str
    path: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return ".".join((self.name, *self.path))


class MissingResult(Exception):
    """A reference to a result that was not produced, or a path the result does not have."""

    def __init__(self, reference: Reference, reason: str) -> None:
        super().__init__(f"${{results.{reference.text}}}: {reason}")
        self.reference = reference
        self.reason = reason


def parse_path(text: str) -> Reference | None:
    """`NAME.a.0` as used by conditions; None when it is not of that form."""
    match = RESULT_PATH.match(text) if isinstance(text, str) else None
    if not match:
        return None
    rest = match.group(2)
    return Reference(match.group(1), tuple(rest[1:].split(".")) if rest else ())


def _reference_body(body: str) -> Reference | None:
    match = _REFERENCE_BODY.match(body.strip())
    if not match:
        return None
    rest = match.group(2)
    return Reference(match.group(1), tuple(rest[1:].split(".")) if rest else ())


def whole_reference(value: Any) -> Reference | None:
    """The reference when the string is exactly one `${results...}` and nothing else."""
    if not isinstance(value, str) or not value.startswith("${") or not value.endswith("}"):
        return None
    match = _TOKEN.fullmatch(value)
    if match is None or match.group(1) is None:
        return None
    return _reference_body(match.group(1))


def is_reference(value: Any) -> bool:
    return whole_reference(value) is not None


def scan(value: Any, path: str = "") -> Iterator[tuple[str, Reference | str]]:
    """Every reference in a JSON value, as (path, Reference) or (path, problem message)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, current = stack.pop()
        if isinstance(current, str):
            for match in _TOKEN.finditer(current):
                text = match.group(0)
                if text == "$${":
                    continue
                body = match.group(1)
                if body is None:
                    yield where, "unclosed '${': close it with '}' or write '$${' for a literal"
                    continue
                reference = _reference_body(body)
                if reference is None:
                    yield (
                        where,
                        (
                            f"'{text}' is not a reference: write ${{results.NAME}} "
                            "(or '$${' for a literal '${')"
                        ),
                    )
                else:
                    yield where, reference
        elif isinstance(current, list):
            for index in range(len(current) - 1, -1, -1):
                stack.append((f"{where}[{index}]", current[index]))
        elif isinstance(current, dict):
            for key in reversed(list(current)):
                stack.append((f"{where}.{key}" if where else str(key), current[key]))


def lookup(results: Mapping[str, Any], reference: Reference) -> Any:
    """The value a reference names; MissingResult when it is not there."""
    if reference.name not in results:
        raise MissingResult(reference, f"no result named {reference.name!r} was produced")
    value = results[reference.name]
    for depth, segment in enumerate(reference.path):
        here = ".".join((reference.name, *reference.path[:depth])) or reference.name
        if isinstance(value, dict):
            if segment not in value:
                raise MissingResult(reference, f"{here} has no field {segment!r}")
            value = value[segment]
        elif isinstance(value, list):
            if not segment.isdigit() or int(segment) >= len(value):
                raise MissingResult(
                    reference, f"{here} is an array of {len(value)}; no item {segment!r}"
                )
            value = value[int(segment)]
        else:
            raise MissingResult(reference, f"{here} is not an object or array")
    return value


def resolve(value: Any, results: Mapping[str, Any]) -> Any:
    """A copy of a JSON value with every reference replaced by the result it names."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = whole_reference(value)
        if whole is not None:
            return lookup(results, whole)
        return _TOKEN.sub(lambda match: _interpolate(match, results), value)
    if isinstance(value, list):
        return [resolve(item, results) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, results) for key, item in value.items()}
    return value


def _interpolate(match: re.Match[str], results: Mapping[str, Any]) -> str:
    if match.group(0) == "$${":
        return "${"
    body = match.group(1)
    reference = _reference_body(body) if body is not None else None
    if reference is None:
        return match.group(0)  # validation refuses these; keep the text rather than guess
    value = lookup(results, reference)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: booleans are not numbers, 1 equals 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


@dataclass(frozen=True)
class Condition:
    """A parsed `when:`; `op` is one of equals, notEquals, in, exists, not, all, any."""

    op: str
    ref: Reference | None = None
    value: Any = None
    operands: tuple[Condition, ...] = ()

    def evaluate(self, results: Mapping[str, Any]) -> bool:
        if self.op in ("not", "all", "any"):
            outcomes = (operand.evaluate(results) for operand in self.operands)
            if self.op == "not":
                return not next(outcomes)
            return all(outcomes) if self.op == "all" else any(outcomes)
        assert self.ref is not None
        try:
            actual = lookup(results, self.ref)
        except MissingResult:
            return False
        if self.op == "exists":
            return True
        if self.op == "equals":
            return json_equal(actual, self.value)
        if self.op == "notEquals":
            return not json_equal(actual, self.value)
        return any(json_equal(actual, option) for option in self.value)

    def references(self) -> Iterator[Reference]:
        if self.ref is not None:
            yield self.ref
        for operand in self.operands:
            yield from operand.references()


def condition_problems(raw: Any, path: str) -> list[tuple[str, str]]:
    """What is wrong with a raw `when:` object, as (path, message); empty when it parses."""
    if not isinstance(raw, dict):
        return [(path, f"a condition is an object like {{exists: NAME}}, not {type(raw).__name__}")]
    keys = [key for key in raw if key in OPERATORS]
    unknown = [key for key in raw if key not in OPERATORS]
    problems = [
        (f"{path}.{key}", f"unknown condition operator; use one of {', '.join(OPERATORS)}")
        for key in unknown
    ]
    comparisons = [key for key in keys if key in COMPARISONS]
    if "result" in raw:
        if len(comparisons) != 1:
            problems.append(
                (path, "`result` needs exactly one of equals, notEquals or in to compare with")
            )
        if parse_path(raw["result"]) is None:
            problems.append((f"{path}.result", _path_problem(raw["result"])))
        if "in" in raw and not isinstance(raw["in"], list):
            problems.append((f"{path}.in", "must be an array of the values to match"))
        others = [key for key in keys if key not in ("result", *COMPARISONS)]
        if others:
            problems.append((path, f"`result` cannot be combined with {', '.join(others)}"))
        return problems
    if comparisons:
        problems.append((path, f"{comparisons[0]} needs `result: NAME` to say what to compare"))
        return problems
    if len(keys) != 1:
        if not unknown:
            problems.append((path, "a condition has exactly one of: result, exists, not, all, any"))
        return problems
    [op] = keys
    operand = raw[op]
    if op == "exists":
        if parse_path(operand) is None:
            problems.append((f"{path}.exists", _path_problem(operand)))
    elif op == "not":
        problems.extend(condition_problems(operand, f"{path}.not"))
    elif not isinstance(operand, list) or not operand:
        problems.append((f"{path}.{op}", "must be a non-empty array of conditions"))
    else:
        for index, item in enumerate(operand):
            problems.extend(condition_problems(item, f"{path}.{op}[{index}]"))
    return problems


def _path_problem(value: Any) -> str:
    return (
        f"{json.dumps(value)[:60]} does not name a result: write NAME or NAME.field "
        "(letters, digits and _, not starting with a digit)"
    )


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """The Condition of a `when:` that `condition_problems` accepted."""
    if "result" in raw:
        op = next(key for key in COMPARISONS if key in raw)
        value = list(raw[op]) if op == "in" else raw[op]
        return Condition(op, parse_path(raw["result"]), value)
    if "exists" in raw:
        return Condition("exists", parse_path(raw["exists"]))
    if "not" in raw:
        return Condition("not", operands=(parse_condition(raw["not"]),))
    op = "all" if "all" in raw else "any"
    return Condition(op, operands=tuple(parse_condition(item) for item in raw[op]))
