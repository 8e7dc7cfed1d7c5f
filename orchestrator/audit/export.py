"""One export of the audit stream: every governed and declarative run started since a
time, chained (orchestrator/audit/chain.py) and written in one line format.

`orchestrator audit export` and the console's download both build it here, so a file
from either verifies the same way and says the same thing about runs it could not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from orchestrator.audit import chain
from orchestrator.audit.chain import ExportFormat
from orchestrator.audit.entries import run_entries
from orchestrator.audit.runs import governed_runs


@dataclass(frozen=True)
class Export:
    """The chained entries of `runs` workflow runs, trailer last."""

    entries: list[dict[str, Any]]
    runs: int
    form: ExportFormat

    @property
    def text(self) -> str:
        """The stream as written: one line per entry, each ending in a newline."""
        return "".join(line + "\n" for line in chain.lines(self.entries, self.form))

    @property
    def records(self) -> int:
        return len(self.entries) - 1

    @property
    def head(self) -> str:
        return chain.head(self.entries)

    @property
    def problems(self) -> list[str]:
        """One line per run not exported faithfully (orchestrator/audit/chain.py)."""
        return chain.problem_runs(self.entries)

    def summary(self) -> str:
        """What the export says after the stream: counts and the head to store apart."""
        problems = self.problems
        return f"exported {self.records} records of {self.runs} workflow runs; head {self.head}" + (
            f"; {len(problems)} run(s) not exported faithfully (above), each marked in the stream"
            if problems
            else ""
        )


def exported_at() -> str:
    """Now, as the trailer's `exported_at` carries it (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def build(client: Client, since: str | None, form: ExportFormat = "jsonl") -> Export:
    """The export of runs started since `since` (a UTC timestamp; None: all time).

    Raises RunsUnavailable (orchestrator/audit/runs.py) when Temporal refuses the listing.
    """
    if form not in chain.FORMATS:  # before Temporal is asked for anything
        raise ValueError(f"unknown audit format {form!r}; expected jsonl or cloudevents")
    # The window ends when the listing is taken: a run started after it is in the next
    # export's window, never in neither.
    until = exported_at()
    runs = await governed_runs(client, since)
    entries = chain.chain(
        (entry for run in runs for entry in run_entries(run)),
        exported_at=until,
        since=since,
    )
    return Export(entries=entries, runs=len(runs), form=form)
