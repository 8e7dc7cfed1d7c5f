"""What a catalog activity takes and returns: JSON types, parameters, and checks of calls.

`type_spec` reads a Python annotation as the JSON type a value must have; a `CatalogEntry`
is one named activity's typed signature, with the checks validation runs on a definition's
`args` (`check_args`) and the interpreter runs on the whole call (`check_call`).

Pure data and pure functions: workflow code reads entries and checks calls in the sandbox.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Union, get_args, get_origin

# Kinds of entry. Only "activity" entries are Temporal activities; the others are run by the
# interpreter itself: "policy" asks OPA through the policy gate, "approval" waits for a
# policy-governed human approval.
EntryKind = Literal["activity", "policy", "approval"]
ACTIVITY: Final = "activity"
POLICY: Final = "policy"
APPROVAL: Final = "approval"

TypeKind = Literal[
    "any", "string", "integer", "number", "boolean", "null", "array", "object", "union"
]


@dataclass(frozen=True)
class TypeSpec:
    """A JSON type derived from a Python annotation: what a value must look like."""

    kind: TypeKind
    items: TypeSpec | None = None  # element type of array, value type of object
    options: tuple[TypeSpec, ...] = ()  # alternatives of a union

    def accepts(self, value: Any, wildcard: Callable[[Any], bool] | None = None) -> bool:
        """Whether a JSON value fits; `wildcard` values (e.g. references) fit anything."""
        if wildcard is not None and wildcard(value):
            return True
        kind = self.kind
        if kind == "any":
            return True
        if kind == "union":
            return any(option.accepts(value, wildcard) for option in self.options)
        if kind == "string":
            return isinstance(value, str)
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "null":
            return value is None
        items = self.items or ANY
        if kind == "array":
            return isinstance(value, list) and all(items.accepts(v, wildcard) for v in value)
        if kind == "object":
            return isinstance(value, dict) and all(
                isinstance(k, str) and items.accepts(v, wildcard) for k, v in value.items()
            )
        return False

    def describe(self) -> str:
        if self.kind == "any":
            return "any JSON value"
        if self.kind == "union":
            return " or ".join(option.describe() for option in self.options)
        if self.kind in ("array", "object") and self.items and self.items.kind != "any":
            inner = self.items.describe()
            return f"{'array' if self.kind == 'array' else 'object'} of ({inner})"
        return self.kind

    def to_json_schema(self) -> dict[str, Any]:
        if self.kind == "any":
            return {}
        if self.kind == "union":
            return {"anyOf": [option.to_json_schema() for option in self.options]}
        schema: dict[str, Any] = {"type": self.kind}
        if self.items is not None and self.items.kind != "any":
            key = "items" if self.kind == "array" else "additionalProperties"
            schema[key] = self.items.to_json_schema()
        return schema


ANY = TypeSpec("any")
_SCALARS: dict[Any, TypeSpec] = {
    str: TypeSpec("string"),
    bool: TypeSpec("boolean"),
    int: TypeSpec("integer"),
    float: TypeSpec("number"),
    type(None): TypeSpec("null"),
    None: TypeSpec("null"),
}


def type_spec(annotation: Any) -> TypeSpec:
    """The JSON type of a parameter annotation; raises TypeError for what JSON cannot carry."""
    if annotation is Any or annotation is object or annotation is inspect.Parameter.empty:
        return ANY
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if annotation is list or origin is list:
        return TypeSpec("array", type_spec(arguments[0]) if arguments else ANY)
    if annotation is dict or origin is dict:
        if arguments and arguments[0] is not str:
            raise TypeError(f"{annotation!r}: JSON objects have string keys; use dict[str, ...]")
        return TypeSpec("object", type_spec(arguments[1]) if arguments else ANY)
    if origin is Union or origin is types.UnionType:
        options = tuple(type_spec(argument) for argument in arguments)
        return ANY if any(o.kind == "any" for o in options) else TypeSpec("union", options=options)
    raise TypeError(
        f"{annotation!r} cannot be an activity argument type: use str, int, float, bool, None, "
        "list[...], dict[str, ...], Any, or unions of them"
    )


def json_kind(value: Any) -> str:
    """How a JSON value reads in a message: `integer 42`, `string "x"`, `array`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'string "{shown}"'
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeSpec
    required: bool
    variadic: bool = False

    def describe(self) -> str:
        star = "*" if self.variadic else ""
        default = "" if self.required or self.variadic else " (optional)"
        return f"{star}{self.name}: {self.type.describe()}{default}"


@dataclass(frozen=True)
class ArgumentProblem:
    """What is wrong with a call's arguments; `index` is the position in `args`, if any."""

    message: str
    index: int | None = None


@dataclass(frozen=True)
class CatalogEntry:
    """One named activity: its typed signature and, for real activities, the function."""

    name: str
    params: tuple[Param, ...]
    returns: TypeSpec = ANY
    flow: bool = True
    kind: EntryKind = ACTIVITY
    description: str = ""
    function: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def positional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.variadic)

    @property
    def variadic(self) -> Param | None:
        return next((p for p in self.params if p.variadic), None)

    def signature(self) -> str:
        params = [p.describe() for p in self.params]
        if self.flow and params:
            params[0] += " <- data flow"
        return f"{self.name}({', '.join(params)}) -> {self.returns.describe()}"

    def arg_params(self, data_flow: bool = True) -> tuple[Param, ...]:
        """The parameters the definition's `args` fill: after the data-flow one, unless the
        step turned data flow off (then from the first)."""
        if self.flow and data_flow and self.positional:
            return self.positional[1:]
        return self.positional

    def check_args(
        self,
        args: list[Any],
        wildcard: Callable[[Any], bool] | None = None,
        data_flow: bool = True,
    ) -> list[ArgumentProblem]:
        """Count and types of the definition's `args` against the signature.

        With data flow, the first parameter's value (the previous step's result) is only
        known at run time, where `check_call` checks the whole call.
        """
        params = self.arg_params(data_flow)
        flowing = self.flow and data_flow and bool(self.positional)
        note = f" after the data-flow input ({self.positional[0].name})" if flowing else ""
        return self._check(params, args, wildcard, note)

    def check_call(self, call: list[Any]) -> list[ArgumentProblem]:
        """The whole call as the activity would receive it (data-flow value first)."""
        return self._check(self.positional, call, None, "")

    def _check(
        self,
        params: tuple[Param, ...],
        values: list[Any],
        wildcard: Callable[[Any], bool] | None,
        note: str,
    ) -> list[ArgumentProblem]:
        problems = []
        required = sum(1 for p in params if p.required)
        variadic = self.variadic
        listed = ", ".join(p.describe() for p in params) or "nothing"
        if len(values) < required:
            missing = ", ".join(p.name for p in params[len(values) : required])
            problems.append(
                ArgumentProblem(f"{self.name}: missing {missing}; it takes {listed}{note}")
            )
        if variadic is None and len(values) > len(params):
            problems.append(
                ArgumentProblem(
                    f"{self.name} takes at most {len(params)} argument(s){note} ({listed}); "
                    f"{len(values)} given"
                )
            )
        for index, value in enumerate(values):
            param = params[index] if index < len(params) else variadic
            if param is None:
                break
            if not param.type.accepts(value, wildcard):
                problems.append(
                    ArgumentProblem(
                        f"{self.name} expects {param.name}: {param.type.describe()}, "
                        f"not {json_kind(value)}",
                        index,
                    )
                )
        return problems
