"""`make up` after a service was killed or is still stopping, and pid files that lie.

The Temporal cases run the real dev server through the module the Makefile runs; the
others use a small stand-in service (Python's http.server, or a script that fails) so each
situation can be set up exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.devstack import Ports, StackError, StackLayout, process
from orchestrator.devstack.services import ServiceSpec
from tests.devstack.test_devstack import devstack, pids

pytestmark = pytest.mark.integration


def temporal_health_url(ports: Ports) -> str:
    return f"http://127.0.0.1:{ports.temporal_http}/api/v1/namespaces/default"


def answers(url: str) -> bool:
    spec = ServiceSpec(name="probe", argv=[], health_url=url, url=url, ports=())
    return process.is_healthy(spec, timeout=0.5)


def wait_until(condition: str, check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never became true: {condition}"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_up_right_after_temporal_was_killed_starts_a_new_one(
    tmp_path: Path, signum: signal.Signals
) -> None:
    ports = Ports.free()
    first = devstack(tmp_path, ports, "up")
    try:
        assert first.returncode == 0, first.stderr
        old = pids(tmp_path)["temporal"]
        os.kill(old, signum)
        if signum == signal.SIGTERM:
            # The dev server drains for a second or so: it stops answering before it exits.
            # This is the moment the report was about, so `up` runs inside it.
            wait_until(
                "the dev server stops answering", lambda: not answers(temporal_health_url(ports))
            )
            assert process.is_alive(old), "exited before `up` could see it stopping"

        again = devstack(tmp_path, ports, "up")

        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
        (line,) = [x for x in again.stdout.splitlines() if x.startswith("temporal:")]
        assert line.startswith("temporal: started (pid ")
        assert str(old) in line  # says what became of the old process
        new = pids(tmp_path)["temporal"]
        assert new != old
        assert not process.is_alive(old)
        assert answers(temporal_health_url(ports))
        assert again.stdout.count("already running") == 2  # Jaeger and OPA were left alone
    finally:
        down = devstack(tmp_path, ports, "down")
    assert down.returncode == 0, down.stderr


def http_service(tmp_path: Path, name: str = "web") -> ServiceSpec:
    port = Ports.free().opa
    return ServiceSpec(
        name=name,
        argv=[
            *(sys.executable, "-m", "http.server", str(port)),
            *("--bind", "127.0.0.1", "--directory", str(tmp_path)),
        ],
        health_url=f"http://127.0.0.1:{port}/",
        url=f"http://127.0.0.1:{port}/",
        ports=(port,),
        start_timeout=20.0,
    )


def failing_service(tmp_path: Path, script: str) -> ServiceSpec:
    program = tmp_path / "service.py"
    program.write_text(script)
    port = Ports.free().opa
    return ServiceSpec(
        name="flaky",
        argv=[sys.executable, str(program)],
        health_url=f"http://127.0.0.1:{port}/",
        url=f"http://127.0.0.1:{port}/",
        ports=(port,),
        start_timeout=20.0,
    )


def test_a_start_failure_quotes_the_new_process_not_the_one_it_replaced(tmp_path: Path) -> None:
    layout = StackLayout(root=tmp_path / "state")
    layout.logs.mkdir(parents=True)
    # What a previous run left in the log, e.g. the shutdown line of a killed process.
    process.log_file(layout, "flaky").write_text('{"msg":"shutting down: context canceled"}\n')
    spec = failing_service(
        tmp_path, "import sys\nprint('flaky: config.yaml: no such file', flush=True)\nsys.exit(3)\n"
    )

    with pytest.raises(StackError) as failure:
        process.start_all([spec], layout)

    message = str(failure.value)
    assert message.startswith("flaky: exited with status 3 during start-up; ")
    assert "its last log line: 'flaky: config.yaml: no such file'" in message
    assert "shutting down" not in message
    assert "run `make up` again" in message
    assert str(process.log_file(layout, "flaky")) in message
    assert process.read_pid(layout, "flaky") is None


def test_a_silent_start_failure_does_not_quote_an_earlier_run(tmp_path: Path) -> None:
    layout = StackLayout(root=tmp_path / "state")
    layout.logs.mkdir(parents=True)
    process.log_file(layout, "flaky").write_text("earlier run: stopped on SIGTERM\n")
    spec = failing_service(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")

    with pytest.raises(StackError) as failure:
        process.start_all([spec], layout)

    message = str(failure.value)
    assert message.startswith("flaky: was killed by SIGKILL during start-up; ")
    assert "it wrote nothing to its log" in message
    assert "earlier run" not in message


def test_a_pid_file_whose_number_was_reused_is_stale(tmp_path: Path) -> None:
    """After a reboot the number in a pid file can belong to any process: neither `up`
    nor `down` may take that process for the service."""
    layout = StackLayout(root=tmp_path / "state")
    layout.run.mkdir(parents=True)
    spec = http_service(tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stat = process.proc_stat(stranger.pid)
        assert stat is not None
        # The pid file of a service that ran earlier under the same number.
        process.pid_file(layout, spec.name).write_text(f"{stranger.pid}\n")
        process.start_file(layout, spec.name).write_text(f"{stranger.pid} {stat.start_ticks - 1}")
        assert process.state(spec, layout).running is False

        assert process.stop(spec.name, layout) == f"{spec.name}: not running"
        assert stranger.poll() is None  # not signalled

        process.pid_file(layout, spec.name).write_text(f"{stranger.pid}\n")
        process.start_file(layout, spec.name).write_text(f"{stranger.pid} {stat.start_ticks - 1}")
        (line,) = process.start_all([spec], layout)
        assert line.startswith(f"{spec.name}: started (pid ")
        assert process.state(spec, layout).healthy
        assert stranger.poll() is None
    finally:
        process.stop(spec.name, layout)
        stranger.kill()
        stranger.wait()


def test_down_stops_what_outlived_the_service_leader(tmp_path: Path) -> None:
    """A service's child that outlived its killed leader still holds the port: `up`
    and `down` clean it away instead of failing on a port "in use by another process"."""
    layout = StackLayout(root=tmp_path / "state")
    spec = http_service(tmp_path)
    leader = ServiceSpec(
        name=spec.name,
        # A shell that runs the server as its child, in the group the shell leads.
        argv=["/bin/sh", "-c", f"{' '.join(spec.argv)} & wait"],
        health_url=spec.health_url,
        url=spec.url,
        ports=spec.ports,
        start_timeout=spec.start_timeout,
    )
    process.start_all([leader], layout)
    shell = process.read_pid(layout, spec.name)
    assert shell is not None
    os.kill(shell, signal.SIGKILL)
    wait_until("the shell is gone", lambda: not process.is_alive(shell))
    assert answers(spec.health_url)  # its child still serves

    (line,) = process.start_all([spec], layout)

    assert line.startswith(f"{spec.name}: started (pid ")
    assert f"pid {shell} of its pid file was gone" in line
    assert process.stop(spec.name, layout).startswith(f"{spec.name}: stopped")
    assert not answers(spec.health_url)
