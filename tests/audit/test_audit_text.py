"""`orchestrator audit ID` as text: entries in the order they happened, and the policy's
second look after an approval labelled as such (recorded histories, no server)."""

from __future__ import annotations

import re

import pytest

from orchestrator.audit.history import build_audit
from orchestrator.audit.records import AuditRecord
from orchestrator.audit.text import recheck_indexes, record_text
from orchestrator.config import Settings
from tests.audit.support import CONVERTER, load

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)  ")
RECHECK = "re-check after approval: "


async def record(name: str) -> AuditRecord:
    return await build_audit(load(name), CONVERTER)


def text(found: AuditRecord) -> list[str]:
    return record_text(found, Settings.from_env({})).splitlines()


@pytest.mark.parametrize(
    "name", ["governed_approved_v6", "declarative_release_v4", "governed_rejected_v4"]
)
async def test_entries_are_in_time_order(name: str) -> None:
    stamps = [m.group(1) for line in text(await record(name)) if (m := STAMP.match(line))]
    assert len(stamps) >= 4
    assert stamps == sorted(stamps)


async def test_the_decision_after_the_approvals_is_labelled_the_re_check() -> None:
    lines = text(await record("governed_approved_v6"))
    starts = [line for line in lines if "policy workflow.start" in line]
    assert len(starts) == 2
    assert RECHECK not in starts[0]
    assert RECHECK in starts[1]
    # It comes after the last accepted approval and before the work runs.
    recheck = lines.index(starts[1])
    accepted = max(i for i, line in enumerate(lines) if line.endswith(": accepted"))
    work = next(i for i, line in enumerate(lines) if "step agent.execute" in line)
    assert accepted < recheck < work


async def test_a_declarative_run_labels_only_its_re_check() -> None:
    found = await record("declarative_release_v4")
    rechecks = recheck_indexes(found)
    assert [found.decisions[i].answer.action for i in rechecks] == ["workflow.start"]
    assert sum(RECHECK in line for line in text(found)) == 1


async def test_a_rejected_request_has_no_re_check() -> None:
    found = await record("governed_rejected_v4")
    assert recheck_indexes(found) == set()
    assert not any(RECHECK in line for line in text(found))
