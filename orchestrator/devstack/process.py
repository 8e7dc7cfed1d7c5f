"""Start, check and stop the stack's servers as background processes with pid files.

Every start waits on the service's health endpoint with a deadline. A port in use, a
missing binary or a service that dies at start stops everything this call started and
raises one `StackError` line that names the service, the cause and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from orchestrator.devstack.services import ServiceSpec, StackError, StackLayout


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    running: bool
    healthy: bool
    url: str


def pid_file(layout: StackLayout, name: str) -> Path:
    return layout.run / f"{name}.pid"


def log_file(layout: StackLayout, name: str) -> Path:
    return layout.logs / f"{name}.log"


def read_pid(layout: StackLayout, name: str) -> int | None:
    try:
        return int(pid_file(layout, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it so it reads as dead.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def is_healthy(spec: ServiceSpec, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(spec.health_url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def port_in_use(port: int) -> bool:
    """True when something listens on the port. Connections of a process that just
    stopped (TIME_WAIT) do not count: the servers rebind with SO_REUSEADDR too."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def state(spec: ServiceSpec, layout: StackLayout) -> ServiceState:
    pid = read_pid(layout, spec.name)
    running = pid is not None and is_alive(pid)
    return ServiceState(spec.name, pid, running, running and is_healthy(spec), spec.url)


def start_all(specs: Iterable[ServiceSpec], layout: StackLayout) -> list[str]:
    """Start every service not already running; on any failure stop what this call started.

    Returns one line per service saying what happened.
    """
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    started: list[ServiceSpec] = []
    lines = []
    try:
        for spec in specs:
            current = state(spec, layout)
            if current.running:
                if not current.healthy:
                    wait_healthy(spec, layout, current.pid)
                lines.append(f"{spec.name}: already running (pid {current.pid}) at {spec.url}")
                continue
            pid = start(spec, layout)
            started.append(spec)
            lines.append(f"{spec.name}: started (pid {pid}) at {spec.url}")
    except StackError:
        for spec in reversed(started):
            stop(spec.name, layout)
        raise
    return lines


def start(spec: ServiceSpec, layout: StackLayout) -> int:
    for port in spec.ports:
        if port_in_use(port):
            raise StackError(
                f"{spec.name}: port {port} on 127.0.0.1 is already in use by another process; "
                f"stop that process or choose another port (see the ORCH_*_PORT variables)."
            )
    if not Path(spec.argv[0]).exists():
        raise StackError(f"{spec.name}: binary {spec.argv[0]} is missing; run `make setup`.")
    log_path = log_file(layout, spec.name)
    with log_path.open("ab") as log:
        # A new session so `down` can signal the whole process group, children included.
        process = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    pid_file(layout, spec.name).write_text(f"{process.pid}\n")
    try:
        wait_healthy(spec, layout, process.pid)
    except StackError:
        stop(spec.name, layout)
        raise
    return process.pid


def wait_healthy(spec: ServiceSpec, layout: StackLayout, pid: int | None) -> None:
    deadline = time.monotonic() + spec.start_timeout
    while time.monotonic() < deadline:
        if pid is not None and not is_alive(pid):
            raise StackError(
                f"{spec.name}: exited during start-up; last log line: "
                f"{last_log_line(layout, spec.name)!r} (full log: {log_file(layout, spec.name)})"
            )
        if is_healthy(spec):
            return
        time.sleep(0.1)
    raise StackError(
        f"{spec.name}: not healthy at {spec.health_url} after {spec.start_timeout:.0f}s; "
        f"see {log_file(layout, spec.name)}"
    )


def last_log_line(layout: StackLayout, name: str) -> str:
    try:
        lines = log_file(layout, name).read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[-1][:300] if lines else ""


def stop(name: str, layout: StackLayout, timeout: float = 15.0) -> str:
    """Stop a service's whole process group: SIGTERM, then SIGKILL after `timeout`."""
    pid = read_pid(layout, name)
    pid_file(layout, name).unlink(missing_ok=True)
    if pid is None or not is_alive(pid):
        return f"{name}: not running"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_alive(pid):
        time.sleep(0.05)
    if is_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while is_alive(pid):
            time.sleep(0.05)
        return f"{name}: killed (pid {pid}) after {timeout:.0f}s"
    return f"{name}: stopped (pid {pid})"
