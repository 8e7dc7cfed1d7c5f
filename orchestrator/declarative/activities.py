"""The declarative workflow's own activity; the worker serves it beside the catalog's.

`declarative.validate` is the workflow's own check of its definition, run as a local
activity at the top of every run: validating a 5,000-step definition takes the better part
of a second of CPU, too long for a workflow task (the SDK's deadlock detector fires at
2 s), and as an activity its answer is recorded in history, so replays never re-validate
(a later change to the validator cannot make an old history diverge).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from orchestrator.declarative.catalogs import installed_catalog
from orchestrator.declarative.problem import Problem
from orchestrator.declarative.validate import problems

VALIDATE_ACTIVITY = "declarative.validate"


@dataclass(frozen=True)
class ValidationInput:
    definition: Any
    source: str = ""


@activity.defn(name=VALIDATE_ACTIVITY)
async def validate_definition(request: ValidationInput) -> list[Problem]:
    """Every problem of the definition against this worker's catalog; empty when valid."""
    catalog = installed_catalog()
    # CPU-bound: off the event loop, which also serves other activities' heartbeats.
    return await asyncio.to_thread(problems, request.definition, catalog, request.source)
