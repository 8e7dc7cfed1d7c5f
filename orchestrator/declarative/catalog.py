"""The activity catalog: named activities with typed arguments, served and validated alike.

Adding an activity is one decorated function in a catalog module (see catalogs/demo.py)::

    CATALOG = ActivityCatalog()

    @CATALOG.activity("ExtractData")
    async def extract_data(data: Any, source: str, count: int = 5) -> dict[str, Any]:
        ...

The decorator reads the signature (parameter names, annotations, defaults, `*args`) into
the argument schema that definition validation checks (signature.py), and makes the
function a Temporal activity with that name. A catalog module's CATALOG is served once it
is listed in catalogs/__init__.py, whose `installed_catalog()` the worker registers.

Data flow: with `flow=True` (the default, as in the old demo) the first parameter receives
the previous step's result (null when there is none) and the definition's `args` fill the
parameters after it; a step with `useDataFlow: false` passes only its `args`, from the
first parameter on. With `flow=False` the function always receives only `args`.

Pure data and pure functions apart from the decorated activities themselves: workflow code
reads entries and checks arguments inside the sandbox.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from temporalio import activity as temporal_activity

from orchestrator.declarative.signature import (
    ACTIVITY,
    CatalogEntry,
    Param,
    TypeSpec,
    type_spec,
)

F = TypeVar("F", bound=Callable[..., Any])


class CatalogError(Exception):
    """A catalog registration is wrong (duplicate name, unsupported signature)."""


class ActivityCatalog:
    """A registry of named activities; definitions may only name what is registered here."""

    def __init__(self, entries: Iterable[CatalogEntry] = ()) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            self.add(entry)

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

    def include(self, other: ActivityCatalog) -> None:
        """Add every entry of another catalog; an entry already here (the same one) stays."""
        for entry in other:
            if self._entries.get(entry.name) is not entry:
                self.add(entry)

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
