"""The activity catalog: named activities with typed arguments, served and validated alike.

Adding an activity is one decorated function::

    from orchestrator.declarative import catalog

    @catalog.activity("ExtractData")
    async def extract_data(data: Any, source: str, count: int = 5) -> dict[str, Any]:
        ...

The decorator reads the signature (parameter names, annotations, defaults, `*args`) into
the argument schema that definition validation checks, and makes the function a Temporal
activity with that name, which the worker registers through `installed_catalog()`.

Data flow: with `flow=True` (the default, as in the old demo) the first parameter receives
the previous step's result (null when there is none) and the definition's `args` fill the
parameters after it; a step with `useDataFlow: false` passes only its `args`, from the
first parameter on. With `flow=False` the function always receives only `args`.

Pure data and pure functions apart from the decorated activities themselves: workflow code
reads entries and checks arguments inside the sandbox.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin

from temporalio import activity as temporal_activity

# Kinds of entry. Only "activity" entries are Temporal activities; the others are run by the
# interpreter itself: "policy" asks OPA through the policy gate, "approval" waits for a
# policy-governed human approval.
ACTIVITY = "activity"
POLICY = "policy"
APPROVAL = "approval"

# Modules whose import registers activities into CATALOG.
CATALOG_MODULES = ("orchestrator.declarative.demo_catalog",)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TypeSpec:
    """A JSON type derived from a Python annotation: what a value must look like."""

    kind: str  # any | string | integer | number | boolean | null | array | object | union
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
    kind: str = ACTIVITY
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


class CatalogError(Exception):
    """A catalog registration is wrong (duplicate name, unsupported signature)."""


class ActivityCatalog:
    """A registry of named activities; definitions may only name what is registered here."""

    def __init__(self) -> None:
        self._entries: dict[str, CatalogEntry] = {}

    def activity(
        self, name: str, *, flow: bool = True, description: str | None = None
    ) -> Callable[[F], F]:
        """Register an async function as the activity `name` and make it a Temporal activity."""

        def register(function: F) -> F:
            if name in self._entries:
                raise CatalogError(f"{name} is already in the catalog")
            if not inspect.iscoroutinefunction(function):
                raise CatalogError(f"{name}: catalog activities are async functions")
            params, returns = _signature(name, function)
            if flow and (not params or params[0].variadic):
                raise CatalogError(
                    f"{name}: flow=True needs a first parameter to receive the previous "
                    "step's result (or register with flow=False)"
                )
            defined = temporal_activity.defn(name=name)(function)
            doc = description if description is not None else inspect.getdoc(function) or ""
            self.add(
                CatalogEntry(
                    name=name,
                    params=params,
                    returns=returns,
                    flow=flow,
                    kind=ACTIVITY,
                    description=doc.split("\n\n")[0].replace("\n", " "),
                    function=defined,
                )
            )
            return defined

        return register

    def add(self, entry: CatalogEntry) -> None:
        if entry.name in self._entries:
            raise CatalogError(f"{entry.name} is already in the catalog")
        self._entries[entry.name] = entry

    def get(self, name: str) -> CatalogEntry | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def activities(self) -> list[Callable[..., Any]]:
        """The Temporal activities the worker registers (built-ins are not activities)."""
        return [e.function for e in self if e.kind == ACTIVITY and e.function is not None]

    def describe(self) -> list[dict[str, Any]]:
        """The catalog as JSON: for `orchestrator definition catalog` and for editors."""
        return [
            {
                "name": e.name,
                "kind": e.kind,
                "signature": e.signature(),
                "dataFlow": e.flow,
                "params": [
                    {
                        "name": p.name,
                        "type": p.type.to_json_schema(),
                        "required": p.required,
                        "variadic": p.variadic,
                    }
                    for p in e.params
                ],
                "returns": e.returns.to_json_schema(),
                "description": e.description,
            }
            for e in self
        ]


def _signature(name: str, function: Callable[..., Any]) -> tuple[tuple[Param, ...], TypeSpec]:
    try:
        hints = typing.get_type_hints(function)
    except Exception as error:
        raise CatalogError(f"{name}: cannot read the annotations: {error}") from None
    params = []
    for parameter in inspect.signature(function).parameters.values():
        kind = parameter.kind
        if kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD):
            raise CatalogError(
                f"{name}: parameter {parameter.name} is keyword-only; definitions pass "
                "arguments by position"
            )
        annotation = hints.get(parameter.name, inspect.Parameter.empty)
        try:
            spec = type_spec(annotation)
        except TypeError as error:
            raise CatalogError(f"{name}: parameter {parameter.name}: {error}") from None
        params.append(
            Param(
                name=parameter.name,
                type=spec,
                required=parameter.default is inspect.Parameter.empty
                and kind != inspect.Parameter.VAR_POSITIONAL,
                variadic=kind == inspect.Parameter.VAR_POSITIONAL,
            )
        )
    try:
        returns = type_spec(hints.get("return", Any))
    except TypeError as error:
        raise CatalogError(f"{name}: return type: {error}") from None
    return tuple(params), returns


def _builtin(name: str, kind: str, description: str) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        params=(Param("data", ANY, required=False), Param("args", ANY, False, variadic=True)),
        returns=ANY,
        flow=True,
        kind=kind,
        description=description,
    )


# The old demo's names that the interpreter runs itself instead of as activities.
BUILTINS = (
    _builtin(
        "CheckPolicy",
        POLICY,
        "Asks OPA (workflow.start) about the work the first string argument describes, "
        "with the first object argument as task parameters; a denial fails the workflow "
        "(PolicyDenied). Result: {allow, require_approval, risk, reasons, decision_id, "
        "policy_revision}.",
    ),
    _builtin(
        "RequestHumanApproval",
        APPROVAL,
        "An approval step (as `type: approval`); the string arguments describe the request.",
    ),
    _builtin(
        "RequestApproval",
        APPROVAL,
        "An approval step (as `type: approval`); the string arguments describe the request.",
    ),
)

CATALOG = ActivityCatalog()
for _entry in BUILTINS:
    CATALOG.add(_entry)

# `@catalog.activity("Name")` registers into the process's catalog.
activity = CATALOG.activity


_installed: list[str] = []


def installed_catalog() -> ActivityCatalog:
    """The process's catalog with every module of CATALOG_MODULES imported (registered).

    Remembers what it imported: inside the workflow sandbox (which has its own module
    table) a second import would register the same names again.
    """
    for module in CATALOG_MODULES:
        if module not in _installed:
            importlib.import_module(module)
            _installed.append(module)
    return CATALOG
