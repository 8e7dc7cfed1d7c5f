"""Fault tests report figures; they are printed at the end of the pytest run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines
    FIGURES.extend(f"{request.node.name}: {line}" for line in lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fault test figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
