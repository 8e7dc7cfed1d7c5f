"""The activity catalog: signatures from annotations, one decorator, typed checks."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import activity

from orchestrator.declarative.catalog import ActivityCatalog, CatalogError
from orchestrator.declarative.catalogs import DEPLOYED, builtin, demo, install, installed_catalog
from orchestrator.declarative.signature import TypeSpec, type_spec

OLD_DEMO_NAMES = [
    "CheckPolicy", "RequestHumanApproval", "ExecuteAgentTask", "GenerateReport",
    "SendNotification", "CleanupTask", "InitializeWorkflow", "ValidateInput",
    "CheckPermissions", "VerifyResources", "RequestApproval", "ExtractData", "TransformData",
    "LoadData", "SendStartNotification", "MonitorProgress", "LogMetrics", "SendProgressUpdate",
    "RunQualityChecks", "GenerateQualityReport", "CleanupResources", "GenerateFinalReport",
    "SendCompletionNotification",
]  # fmt: skip


def test_the_demo_catalog_answers_to_every_old_demo_name() -> None:
    catalog = installed_catalog()
    assert [name for name in OLD_DEMO_NAMES if name not in catalog] == []
    builtins = {e.name: e.kind for e in catalog if e.kind != "activity"}
    assert builtins == {
        "CheckPolicy": "policy",
        "RequestHumanApproval": "approval",
        "RequestApproval": "approval",
    }
    served = {activity._Definition.must_from_callable(f).name for f in catalog.activities()}
    assert served == {e.name for e in catalog if e.kind == "activity"}


def test_one_decorator_registers_a_typed_temporal_activity() -> None:
    catalog = ActivityCatalog()

    @catalog.activity("Scale")
    async def scale(data: list[float] | None, factor: float, *labels: str) -> list[float]:
        """Multiplies every number by the factor.

        More text that is not part of the short description.
        """
        return [x * factor for x in data or []]

    entry = catalog.get("Scale")
    assert entry is not None and entry.flow and entry.kind == "activity"
    assert entry.description == "Multiplies every number by the factor."
    assert entry.signature() == (
        "Scale(data: array of (number) or null <- data flow, factor: number, "
        "*labels: string) -> array of (number)"
    )
    assert activity._Definition.must_from_callable(scale).name == "Scale"
    assert catalog.activities() == [scale]
    assert [p.message for p in entry.check_args([2, "a", "b"])] == []
    assert [p.index for p in entry.check_args(["2", 3])] == [0, 1]
    assert entry.check_args([], data_flow=True)[0].message.startswith("Scale: missing factor")
    assert [p.message for p in entry.check_call([[1.5], 2])] == []
    assert entry.check_call(["not a list", 2])[0].message == (
        'Scale expects data: array of (number) or null, not string "not a list"'
    )
    described = catalog.describe()[0]
    assert described["params"][1] == {
        "name": "factor",
        "type": {"type": "number"},
        "required": True,
        "variadic": False,
    }


def test_registration_mistakes_are_refused() -> None:
    catalog = ActivityCatalog()

    @catalog.activity("Once", flow=False)
    async def once() -> None:
        return None

    with pytest.raises(CatalogError, match="already in the catalog"):
        catalog.activity("Once", flow=False)(once)
    with pytest.raises(CatalogError, match="async functions"):
        catalog.activity("Sync")(lambda data: data)

    async def keyword_only(data: Any, *, option: str) -> None:
        return None

    with pytest.raises(CatalogError, match="keyword-only"):
        catalog.activity("Kw")(keyword_only)

    async def bad_type(data: Any, when: complex) -> None:
        return None

    with pytest.raises(CatalogError, match="cannot be an activity argument type"):
        catalog.activity("Bad")(bad_type)

    async def nothing_to_flow_into() -> None:
        return None

    with pytest.raises(CatalogError, match="flow=True needs a first parameter"):
        catalog.activity("NoFlow")(nothing_to_flow_into)


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (str, "x", 1),
        (int, 3, 3.5),
        (int, -1, True),
        (float, 3, "3"),
        (bool, False, 0),
        (type(None), None, 0),
        (list[int], [1, 2], [1, "2"]),
        (dict[str, bool], {"a": True}, {"a": 1}),
        (str | None, None, 1),
        (Any, {"anything": [1]}, None),
    ],
)
def test_types_follow_json(annotation: Any, good: Any, bad: Any) -> None:
    spec = type_spec(annotation)
    assert spec.accepts(good)
    if annotation is not Any:
        assert not spec.accepts(bad)


def test_dict_keys_must_be_strings() -> None:
    with pytest.raises(TypeError, match="string keys"):
        type_spec(dict[int, str])
    assert type_spec(dict[str, Any]) == TypeSpec("object", TypeSpec("any"))


def test_catalogs_compose_once_and_refuse_a_second_entry_of_a_name() -> None:
    installed = installed_catalog()
    assert DEPLOYED == (demo.CATALOG,)
    for part in (builtin.CATALOG, demo.CATALOG):
        assert all(installed.get(entry.name) is entry for entry in part)
    before = installed.names()
    assert install(demo.CATALOG) is installed and installed.names() == before

    other = ActivityCatalog()

    @other.activity("ExtractData")
    async def impostor(data: Any = None) -> None:
        return None

    with pytest.raises(CatalogError, match="ExtractData is already in the catalog"):
        ActivityCatalog(list(demo.CATALOG)).include(other)
