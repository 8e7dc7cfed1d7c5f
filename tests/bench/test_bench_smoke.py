"""The benchmark harness still works (tiny counts against the session's stack).

Timings here are not asserted: speed is judged by `make bench`, not by tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import inbox
from bench.run import SMOKE, markdown, ratios, run_bench, run_bench_in_memory
from orchestrator.devstack import LocalStack

pytestmark = pytest.mark.integration


async def test_bench_smoke_reports_every_part(stack: LocalStack, tmp_path: Path) -> None:
    # Both parts on the session's stack: the harness is what is checked, not the server.
    report = await run_bench(stack, SMOKE, tmp_path / "outbox")
    report |= await run_bench_in_memory(stack, SMOKE, tmp_path / "outbox")
    report.update(date="smoke", machine="test", ratios=ratios(report))
    assert set(report["policy_latency_ms"]) == {
        "pooled",
        "pooled_with_shadow",
        "pooled_with_shadow_two_requests",
        "new_client_per_call",
        "opa_eval",
        "opa_handler",
        "shadow_sample_rate",
    }
    every = {"governed", "ungoverned", "noop-policy", "bare"}
    assert set(report["variants"]) == set(report["variants_in_memory"]) == every
    assert set(report["throughput_by_workers_per_s"]) == {"1", "2"}
    table = markdown(report)
    assert "| governed / ungoverned latency (file) |" in table
    assert "| governed / ungoverned throughput (memory) |" in table


async def test_inbox_bench_smoke_times_the_pages_and_page_ones_parts(stack: LocalStack) -> None:
    report = await inbox.run_bench(stack, pending=3, rounds=2)
    report.update(date="smoke", machine="test")
    # The session's stack may hold other tests' waiting runs too: at least these three.
    first = report["pages"]["inbox page 1"]
    assert first["approvals_shown"] >= 3 and first["n"] == 2
    assert set(report["parts"]) == {"page_1_list", "page_1_policy"}
    table = inbox.markdown(report)
    assert "| inbox page 1 |" in table and "| page 1 policy |" in table
