"""The cluster's PostgreSQL: a data directory of its own under the stack's folder, made
with the server's initdb and served by its `postgres` on a loopback port.

PostgreSQL refuses to run as root, so under root (as CI and containers run) both run as
the `postgres` user that Debian's package creates; its data directory is that user's and
every folder above it must let that user through.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.devstack.services import ServiceSpec, StackError

# The role Temporal connects as (compose.yaml's POSTGRES_USER), superuser of this cluster.
ROLE = "temporal"
SYSTEM_USER = "postgres"
# Four Temporal services with up to 20 connections each to each of two databases.
MAX_CONNECTIONS = 300


@dataclass(frozen=True)
class Postgres:
    bin: Path
    data: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgres://127.0.0.1:{self.port}"

    def spec(self) -> ServiceSpec:
        return ServiceSpec(
            name="postgres",
            argv=[
                *run_as_owner(),
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                # TCP only: no socket file to place, clean up or collide with.
                "-c",
                "unix_socket_directories=",
                "-c",
                f"max_connections={MAX_CONNECTIONS}",
            ],
            health_url=self.url,
            url=f"127.0.0.1:{self.port} (PostgreSQL, role {ROLE})",
            ports=(self.port,),
        )

    def initialise(self, log: Path) -> str | None:
        """Create the data directory unless it exists; a line saying so, or None."""
        if (self.data / "PG_VERSION").exists():
            return None
        owner = data_owner()
        check_reachable(self.data.parent, owner)
        self.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("w", prefix="pw-", delete=False) as pwfile:
            pwfile.write(self.password + "\n")
        try:
            if owner is not None:
                os.chown(self.data, owner.pw_uid, owner.pw_gid)
                os.chown(pwfile.name, owner.pw_uid, owner.pw_gid)
            argv = [
                *run_as_owner(),
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                ROLE,
                f"--pwfile={pwfile.name}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ]
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
        finally:
            os.unlink(pwfile.name)
        if done.returncode != 0:
            lines = log.read_text(errors="replace").strip().splitlines()
            self._remove_partial()
            raise StackError(
                f"postgres: initdb failed ({lines[-1] if lines else 'no output'}); full log: {log}"
            )
        return f"postgres: initialised {self.data} (role {ROLE})"

    def _remove_partial(self) -> None:
        """A failed initdb leaves a half-made directory that the next try would refuse."""
        subprocess.run(["rm", "-rf", "--", str(self.data)], check=False)


def data_owner() -> pwd.struct_passwd | None:
    """Who owns and runs the data directory: the `postgres` user under root, else None
    (this process's own user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise StackError(
            f"postgres: running as root needs the `{SYSTEM_USER}` user that Debian's "
            "postgresql package creates; run `make cluster-servers`."
        ) from None


def run_as_owner() -> list[str]:
    """The command prefix that drops root for PostgreSQL's own programs (exec, no fork,
    so the pid file names the server itself)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"  # util-linux, on every Debian
    return [setpriv, f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}", "--init-groups", "--"]


def check_reachable(folder: Path, owner: pwd.struct_passwd | None) -> None:
    """Fail now, naming the folder, if `owner` could not reach a data directory in it
    (a pytest temp folder or a home directory is often mode 700)."""
    if owner is None:
        return
    for parent in [folder, *folder.parents]:
        if not parent.exists():
            continue
        info = parent.stat()
        if info.st_uid != owner.pw_uid and not info.st_mode & 0o001:
            raise StackError(
                f"postgres: {parent} (mode {info.st_mode & 0o777:o}) does not let the "
                f"`{SYSTEM_USER}` user through to the data directory; keep the stack's "
                "folder somewhere it can reach (e.g. `chmod o+x` that folder)."
            )
