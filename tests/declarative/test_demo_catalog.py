"""The demo activities do what they say, deterministically, without sleeping."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from orchestrator.declarative.catalogs import demo
from orchestrator.declarative.catalogs import demo_records as data


async def call(function: Any, *args: Any) -> Any:
    return await ActivityEnvironment().run(function, *args)


async def test_extract_is_deterministic_and_transform_really_transforms() -> None:
    first = await call(data.extract_data, None, "crm", 4)
    assert first == await call(data.extract_data, None, "crm", "4")
    assert [r["id"] for r in first["records"]] == [1, 2, 3, 4]
    values = [r["value"] for r in first["records"]]

    doubled = await call(data.transform_data, first, "double", "sort", "reticulate")
    assert doubled["applied"] == ["double", "sort"] and doubled["ignored"] == ["reticulate"]
    assert [r["value"] for r in doubled["records"]] == sorted((v * 2 for v in values), reverse=True)
    assert first["records"][0]["value"] == values[0]  # the input was not modified

    normal = await call(data.transform_data, first, "normalize_data", "uppercase")
    assert max(r["value"] for r in normal["records"]) == 1.0
    assert {r["source"] for r in normal["records"]} == {"CRM"}


async def test_load_fingerprints_and_writes_nothing() -> None:
    records = (await call(data.extract_data, None, "a", 3))["records"]
    loaded = await call(data.load_data, {"records": records}, "warehouse")
    assert (loaded["target"], loaded["count"], loaded["written"]) == ("warehouse", 3, False)
    assert loaded["checksum"] == (await call(data.load_data, records))["checksum"]


async def test_notifications_and_metrics_are_logged_honestly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sent = await call(demo.send_notification, None, "ops@example.com", "Done", "now")
    assert sent["to"] == ["ops@example.com"] and sent["message"] == "Done now"
    assert sent["delivered_to"] == "log:orchestrator.notifications"
    assert any(
        r.name == "orchestrator.notifications" and "Done now" in r.getMessage()
        for r in caplog.records
    )
    figures = await call(data.log_metrics, [{"value": 1}, {"value": 3}, {"value": "x"}], "t")
    assert (figures["count"], figures["sum"], figures["mean"]) == (2, 4, 2.0)
    assert any(r.name == "orchestrator.metrics" for r in caplog.records)


async def test_quality_checks_find_real_problems() -> None:
    good = await call(data.run_quality_checks, {"records": [{"id": 1, "value": 2}]})
    assert good["passed"] and [c["name"] for c in good["checks"]] == list(data.QUALITY_CHECKS)
    bad = await call(data.run_quality_checks, [{"id": 1, "value": "x"}, {"id": 1, "value": 2}])
    assert not bad["passed"]
    failed = [c["name"] for c in bad["checks"] if c["passed"] is False]
    assert failed == ["ids_unique", "values_numeric"]
    report = await call(data.generate_quality_report, bad)
    assert report["passed"] is False and "ids_unique: FAIL (no id repeats)" in report["lines"]


async def test_the_rest_report_what_they_did() -> None:
    assert (await call(data.validate_input, None))["valid"] is False
    missing = await call(data.validate_input, [{"id": 1}], "id", "value")
    assert missing["problems"] == ["record 1: missing value"]
    assert (await call(demo.verify_resources, None, "db", "bad name"))["invalid"] == ["bad name"]
    assert (await call(demo.check_permissions, None, "read"))["requested"] == ["read"]
    plan = await call(demo.execute_agent_task, None, "build, test then deploy")
    assert plan["steps"] == ["build", "test", "deploy"] and plan["delivered"] is False
    assert (await call(demo.cleanup_task, None, "tmp"))["released"] == []
    report = await call(demo.generate_final_report, [{"records": [{}]}, None, 3])
    assert report["lines"] == ["branch 1: 1 record(s)", "branch 2: nothing", "branch 3: 3"]
    assert (await call(demo.initialize_workflow, {"x": 1}, "cfg"))["settings"] == ["cfg"]
    assert (await call(data.monitor_progress, [{"a": 1, "b": 2}]))["fields"] == ["a", "b"]


async def test_typed_activities() -> None:
    records = await call(data.fetch_records, "s", 6)
    assert len(records) == 6
    kept = await call(data.filter_records, records, 500)
    assert all(r["value"] >= 500 for r in kept)
    assert await call(data.sum_field, kept) == float(sum(r["value"] for r in kept))
