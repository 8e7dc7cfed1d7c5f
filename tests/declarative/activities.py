"""Test-only catalog activities; conftest.py installs CATALOG into the process's catalog.

The worker registers whatever the installed catalog holds when it is built, and the
workflow validates against the same catalog, so tests can use these names.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.declarative.catalog import ActivityCatalog

CATALOG = ActivityCatalog()


@CATALOG.activity("Echo")
async def echo(data: Any = None, *args: Any) -> dict[str, Any]:
    """Returns exactly what it received: the data-flow value and the args."""
    return {"data": data, "args": list(args)}


@CATALOG.activity("Constant", flow=False)
async def constant(value: Any) -> Any:
    """Returns its one argument."""
    return value


@CATALOG.activity("Sleep")
async def sleep(data: Any, seconds: float) -> dict[str, Any]:
    """Sleeps (tests only: to see parallel branches overlap, and timeouts)."""
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@CATALOG.activity("Flaky")
async def flaky(data: Any, failures: int) -> dict[str, Any]:
    """Fails its first `failures` attempts, then reports the attempt that succeeded."""
    attempt = activity.info().attempt
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return {"attempt": attempt}


@CATALOG.activity("DropDatabase")
async def drop_database(data: Any = None, *args: Any) -> dict[str, Any]:
    """Policy never allows this; if it ever ran, the test would see this error."""
    raise ApplicationError("DropDatabase ran: the policy gate let it through", non_retryable=True)
