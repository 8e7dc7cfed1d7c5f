"""The schedules page in a real browser: an operator sees each schedule for what it runs,
the governed task for its requester and the audit checkpoints by their workflow."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.audit import scheduled
from orchestrator.config import Settings
from tests.console.browser.pages import Console
from tests.schedules.cli import REPORT, create_hourly

pytestmark = pytest.mark.integration


@pytest.fixture
async def two_schedules(client: Client, console_settings: Settings) -> AsyncIterator[list[str]]:
    """A governed hourly report for alice, and the audit checkpoints every hour."""
    report = f"sched-browser-{uuid.uuid4().hex[:6]}"
    made = await create_hourly(console_settings, client, report)
    assert made.code == 0, made.err
    audit = await scheduled.set_schedule(client, console_settings, timedelta(hours=1))
    yield [report, audit.id]
    for schedule_id in (report, audit.id):
        with contextlib.suppress(RPCError):
            await client.get_schedule_handle(schedule_id).delete()


async def test_an_operator_sees_each_schedule_for_what_it_runs(
    console: Console, two_schedules: list[str]
) -> None:
    report, audit = two_schedules
    console.sign_in("erin")
    console.open("/console/schedules")
    rows = {
        row.get_attribute("data-schedule-id"): row.text
        for row in console.driver.find_elements(By.CSS_SELECTOR, "tr[data-schedule-id]")
    }
    assert f"alice: {REPORT}" in rows[report], rows[report]
    assert rows[audit].count("AuditCheckpointWorkflow") == 1, rows[audit]
    assert "None" not in rows[audit] and "?:" not in rows[audit]
    assert "every 1h" in rows[audit]
    console.screenshot("schedules")
