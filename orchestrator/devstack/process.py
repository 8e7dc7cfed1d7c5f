"""Start, check and stop the stack's servers as background processes with pid files.

Every start waits on the service's health endpoint with a deadline. A port in use, a
missing binary or a service that dies at start stops everything this call started and
raises one `StackError` line that names the service, the cause and the fix.

A pid file can outlive its process: `kill -9`, a crash, a reboot, or a SIGTERM that is
still draining when `make up` runs. A pid whose process is gone, a zombie, or a later
process that reused the number counts as not running; a process that is alive but not
answering its health check is waited on until it either answers or exits, and in the
second case the service is started afresh. Only a failure of the process this call
started is reported as a start failure, quoting what that process wrote to its log.
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
from typing import Literal

from orchestrator.devstack import probes
from orchestrator.devstack.services import ServiceSpec, StackError, StackLayout

# Linux tells a process's state, group and start time in /proc; elsewhere (macOS) the
# checks fall back to what kill(pid, 0) can say.
PROC = Path("/proc")
HAS_PROC = (PROC / "self" / "stat").exists()


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    running: bool
    healthy: bool
    url: str


@dataclass(frozen=True)
class ProcessStat:
    """The fields of /proc/<pid>/stat this module needs."""

    pid: int
    state: str  # the main thread's: R, S, D, ...; Z (zombie) or X (dead) once it exited
    pgrp: int
    start_ticks: int  # clock ticks after boot: with the pid, names one process exactly

    @property
    def exited(self) -> bool:
        """Whether every thread has exited. The main thread alone says too little: killed,
        it shows as a zombie while the others are still ending and the ports still bound."""
        if self.state not in _EXITED:
            return False
        try:
            threads = list((PROC / str(self.pid) / "task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            return True
        return all(_thread_state(thread) in _EXITED for thread in threads)


_EXITED = ("Z", "X", "x", "")


def _thread_state(task: Path) -> str:
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return ""  # gone while we looked


def pid_file(layout: StackLayout, name: str) -> Path:
    return layout.run / f"{name}.pid"


def log_file(layout: StackLayout, name: str) -> Path:
    return layout.logs / f"{name}.log"


def start_file(layout: StackLayout, name: str) -> Path:
    """Beside the pid file: when that process started, so a reused pid is told apart.
    Not in the pid file itself, which stays one number for `kill $(cat ...)`."""
    return layout.run / f"{name}.start"


def read_pid(layout: StackLayout, name: str) -> int | None:
    try:
        return int(pid_file(layout, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _recorded_start(layout: StackLayout, name: str, pid: int) -> int | None:
    """The start time recorded for `pid`; None when none was (a file from an older
    version of this module, or a system without /proc)."""
    try:
        recorded_pid, ticks = start_file(layout, name).read_text().split()
        return int(ticks) if int(recorded_pid) == pid else None
    except (FileNotFoundError, ValueError):
        return None


def write_pid(layout: StackLayout, name: str, pid: int) -> None:
    stat = proc_stat(pid)
    if stat is None:
        start_file(layout, name).unlink(missing_ok=True)
    else:
        start_file(layout, name).write_text(f"{pid} {stat.start_ticks}\n")
    pid_file(layout, name).write_text(f"{pid}\n")


def proc_stat(pid: int) -> ProcessStat | None:
    """None when /proc has no such process (or there is no /proc)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name in parentheses may itself hold spaces or ')': split after the last.
    fields = raw.rsplit(")", 1)[1].split()
    return ProcessStat(pid, state=fields[0], pgrp=int(fields[2]), start_ticks=int(fields[19]))


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces ("" when /proc cannot tell)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours, so it stops existing as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie (exited, its parent has not collected it yet) is
    not alive: it serves nothing and holds no port, though kill(pid, 0) still finds it.
    A process whose threads are still ending after a kill is alive until they have."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not HAS_PROC:
        return True
    stat = proc_stat(pid)
    return stat is not None and not stat.exited


def running_pid(layout: StackLayout, name: str) -> int | None:
    """The pid file's process while it runs; None when the file is stale.

    Stale: no file, the process is gone or a zombie, or the number now belongs to a
    process started later (pids are reused, e.g. after a reboot) than the one recorded.
    """
    pid = read_pid(layout, name)
    if pid is None or not is_alive(pid):
        return None
    recorded = _recorded_start(layout, name, pid)
    stat = proc_stat(pid)
    if recorded is not None and stat is not None and stat.start_ticks != recorded:
        return None
    return pid


def _group_members(pgid: int) -> list[int]:
    """Live processes of the process group `pgid` (a service and any children it forked)."""
    if not HAS_PROC:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and stat.pgrp == pgid and not stat.exited:
                members.append(int(entry.name))
    return members


def _group_running(layout: StackLayout, name: str, pid: int) -> bool:
    """Whether anything of the service recorded as `pid` still runs.

    Each service leads its own process group (start_new_session), so while its leader
    runs the group is the leader's; once the leader is gone no new process can take that
    number while members of the group remain, so any that remain are the service's.
    """
    _reap(pid)
    if running_pid(layout, name) == pid:
        return True
    leader = proc_stat(pid)
    if leader is not None and not leader.exited:
        return False  # the number now belongs to an unrelated, later process
    return bool(_group_members(pid))


def is_healthy(spec: ServiceSpec, timeout: float = 1.0) -> bool:
    return probes.is_healthy(spec.health_url, timeout)


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
    pid = running_pid(layout, spec.name)
    running = pid is not None
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
            recorded = read_pid(layout, spec.name)
            note = "" if recorded is None else f"; pid {recorded} of its pid file was gone"
            pid = running_pid(layout, spec.name)
            if pid is not None:
                if is_healthy(spec) or settle(spec, layout, pid) == "healthy":
                    lines.append(f"{spec.name}: already running (pid {pid}) at {spec.url}")
                    continue
                note = f"; pid {pid} was on its way out and has exited"
            # Whatever is left of an earlier run (its pid file, a child that outlived its
            # leader and may hold a port) goes before the new process starts.
            stop(spec.name, layout)
            new_pid = start(spec, layout)
            started.append(spec)
            lines.append(f"{spec.name}: started (pid {new_pid}) at {spec.url}{note}")
    except StackError:
        for spec in reversed(started):
            stop(spec.name, layout)
        raise
    return lines


def settle(spec: ServiceSpec, layout: StackLayout, pid: int) -> Literal["healthy", "exited"]:
    """Wait for a running but unhealthy process to answer its health check or exit.

    It may still be starting (another `make up`), or stopping: a SIGTERM drains for a
    second or two before the process exits. Neither is a failure of this start.
    """
    deadline = time.monotonic() + spec.start_timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return "exited"
        if is_healthy(spec):
            return "healthy"
        time.sleep(0.1)
    raise StackError(
        f"{spec.name}: pid {pid} from an earlier start runs but has not answered "
        f"{spec.health_url} for {spec.start_timeout:.0f}s; stop it (`make down`, or "
        f"kill {pid}) and run `make up` again (its log: {log_file(layout, spec.name)})."
    )


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
        # Where this process's lines begin: the log also holds earlier runs' lines, such
        # as the shutdown messages of the process this one replaces.
        offset = log.tell()
        # A new session so `down` can signal the whole process group, children included.
        process = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    write_pid(layout, spec.name, process.pid)
    try:
        wait_started(spec, layout, process, offset)
    except StackError:
        stop(spec.name, layout)
        raise
    return process.pid


def wait_started(
    spec: ServiceSpec, layout: StackLayout, process: subprocess.Popen[bytes], log_offset: int
) -> None:
    deadline = time.monotonic() + spec.start_timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise StackError(
                f"{spec.name}: {_exit_cause(code)} during start-up; "
                f"{_last_line_since(layout, spec.name, log_offset)}; fix what it reports and "
                f"run `make up` again (full log: {log_file(layout, spec.name)})"
            )
        if is_healthy(spec):
            return
        time.sleep(0.1)
    raise StackError(
        f"{spec.name}: not healthy at {spec.health_url} after {spec.start_timeout:.0f}s, "
        f"so it was stopped again; see {log_file(layout, spec.name)}"
    )


def _exit_cause(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _last_line_since(layout: StackLayout, name: str, offset: int) -> str:
    try:
        with log_file(layout, name).open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").strip().splitlines()
    except FileNotFoundError:
        lines = []
    return f"its last log line: {lines[-1][:300]!r}" if lines else "it wrote nothing to its log"


def stop(name: str, layout: StackLayout, timeout: float = 15.0) -> str:
    """Stop a service's whole process group: SIGTERM, then SIGKILL after `timeout`."""
    pid = read_pid(layout, name)
    running = pid is not None and _group_running(layout, name, pid)
    pid_file(layout, name).unlink(missing_ok=True)
    start_file(layout, name).unlink(missing_ok=True)
    if pid is None or not running:
        return f"{name}: not running"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.05)
    if _group_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _group_alive(pid):
            time.sleep(0.05)
        return f"{name}: killed (pid {pid}) after {timeout:.0f}s"
    return f"{name}: stopped (pid {pid})"


def _group_alive(pgid: int) -> bool:
    """Whether the group just signalled still has a live member (its leader included)."""
    return is_alive(pgid) or bool(_group_members(pgid))
