"""`make up` / `make down` behaviour, through the same module the Makefile runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from orchestrator.devstack import Ports
from orchestrator.devstack.process import is_alive

pytestmark = pytest.mark.integration


def devstack(data: Path, ports: Ports, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **{f"ORCH_{name.upper()}_PORT": str(p) for name, p in asdict(ports).items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.devstack", *args, "--data", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pids(data: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (data / "run").glob("*.pid")}


def test_up_twice_keeps_one_copy_and_down_leaves_nothing(tmp_path: Path) -> None:
    ports = Ports.free()
    first = devstack(tmp_path, ports, "up")
    try:
        assert first.returncode == 0, first.stderr
        started = pids(tmp_path)
        assert set(started) == {"jaeger", "opa", "temporal"}

        second = devstack(tmp_path, ports, "up")
        assert second.returncode == 0, second.stderr
        assert second.stdout.count("already running") == 3
        assert pids(tmp_path) == started

        status = devstack(tmp_path, ports, "status")
        assert status.returncode == 0
        assert status.stdout.count("healthy") == 3
    finally:
        down = devstack(tmp_path, ports, "down")
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(pid) for pid in started.values())
    assert pids(tmp_path) == {}
    assert devstack(tmp_path, ports, "status").returncode == 1


def test_up_with_opa_port_taken_fails_with_one_clear_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = Ports(**{**asdict(Ports.free()), "opa": taken})
        result = devstack(tmp_path, ports, "up")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: opa: port {taken} on 127.0.0.1 is already in use")
    assert "ORCH_" in lines[0]
    # Jaeger started before OPA failed; it must not be left running.
    assert pids(tmp_path) == {}
    assert not list(tmp_path.glob("run/*.pid"))


def test_console_serves_the_api_with_development_tokens_and_down_stops_it(
    tmp_path: Path,
) -> None:
    ports = Ports.free()
    try:
        up = devstack(tmp_path, ports, "up")
        assert up.returncode == 0, up.stderr
        console = devstack(tmp_path, ports, "console")
        assert console.returncode == 0, console.stderr
        assert f"Console: http://127.0.0.1:{ports.api}/console/" in console.stdout
        tokens = json.loads((tmp_path / "api-tokens.json").read_text())
        assert {"alice", "bob", "carol"} <= set(tokens)
        # The background API knows each person by their development token.
        answer = httpx.get(
            f"http://127.0.0.1:{ports.api}/v1/approvals/pending",
            headers={"Authorization": f"Bearer {tokens['bob']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        status = devstack(tmp_path, ports, "status")
        assert "api" in status.stdout and status.stdout.count("healthy") == 4
        started = pids(tmp_path)
    finally:
        down = devstack(tmp_path, ports, "down")
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(pid) for pid in started.values())
    assert pids(tmp_path) == {}
