"""Where the cluster stack's programs are, or which command provides the missing one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.devstack.services import REPO_ROOT, Binaries, StackError

LINKS = REPO_ROOT / ".bin"
POSTGRES_ROOT = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class ClusterBinaries(Binaries):
    """The dev stack's (the Temporal CLI registers the namespace and search attributes;
    OPA and Jaeger run as there) and the cluster's own."""

    temporal_server: Path
    sql_tool: Path
    # The server module's own files, copied by build-temporal.sh: schema/postgresql/ and
    # config/docker.yaml (the template the temporalio/server image renders).
    temporal_files: Path
    postgres_bin: Path  # initdb, postgres

    @property
    def server_config(self) -> Path:
        return self.temporal_files / "config" / "docker.yaml"

    @property
    def schema_dir(self) -> Path:
        return self.temporal_files / "schema"

    @classmethod
    def locate(cls) -> ClusterBinaries:
        servers = Binaries.locate()
        found: dict[str, Path] = {}
        for name in ("temporal-server", "temporal-sql-tool", "temporal-files"):
            variable = f"ORCH_{name.upper().replace('-', '_')}"
            path = Path(os.environ.get(variable) or LINKS / name)
            if not path.exists():
                raise StackError(
                    f"{name}: not found in .bin/; run `make cluster-servers` (builds the "
                    "Temporal server and its SQL tool with Go, installs PostgreSQL)."
                )
            found[name] = path
        return cls(
            temporal=servers.temporal,
            opa=servers.opa,
            jaeger=servers.jaeger,
            temporal_server=found["temporal-server"],
            sql_tool=found["temporal-sql-tool"],
            temporal_files=found["temporal-files"],
            postgres_bin=postgres_bin(),
        )

    @classmethod
    def unlocated(cls) -> ClusterBinaries:
        """For commands that only print addresses (`env`): no program needed."""
        return cls(*(Path() for _ in range(7)))


def postgres_bin() -> Path:
    """The newest PostgreSQL server installed from Debian's packages (ORCH_POSTGRES_BIN
    names another bin directory)."""
    configured = os.environ.get("ORCH_POSTGRES_BIN")
    candidates = (
        [Path(configured)]
        if configured
        else sorted(
            (p for p in POSTGRES_ROOT.glob("*/bin") if p.parent.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
    )
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise StackError(
        "postgres: the PostgreSQL server is not installed (no /usr/lib/postgresql/<N>/bin/"
        "initdb); run `make cluster-servers` (installs Debian's postgresql package)."
    )
