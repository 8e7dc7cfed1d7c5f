"""The cluster stack: PostgreSQL, the schema job, Jaeger and OPA, Temporal's four services,
then the namespace job; `down` stops them in reverse, leaving no process behind.

It is a LocalStack with other servers: the worker, API and console it starts, the
development keys and tokens it writes and the addresses it gives clients are the dev
stack's, so nothing in the product has a code path of its own for a cluster.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from orchestrator.devstack import process
from orchestrator.devstack.bundle import SignedBundle
from orchestrator.devstack.bundle import build as build_bundle
from orchestrator.devstack.cluster.binaries import ClusterBinaries
from orchestrator.devstack.cluster.ports import ClusterPorts
from orchestrator.devstack.cluster.postgres import Postgres
from orchestrator.devstack.cluster.temporal import database_env, temporal_services
from orchestrator.devstack.services import (
    REPO_ROOT,
    ServiceSpec,
    StackError,
    StackLayout,
    stack_services,
)
from orchestrator.devstack.stack import DEFAULT_DATA, LocalStack
from orchestrator.vocabulary import SEARCH_ATTRIBUTES

DEPLOY = REPO_ROOT / "deploy" / "temporal"
# compose.yaml's one-shot jobs, run here with the same scripts.
SCHEMA_JOB = DEPLOY / "setup-schema.sh"
INIT_JOB = DEPLOY / "init.sh"
JOB_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ClusterStack(LocalStack):
    ports: ClusterPorts
    binaries: ClusterBinaries
    temporal_ui: bool = False  # the cluster runs no Temporal UI; the console works as ever
    # compose.yaml's default (POSTGRES_PASSWORD); the database listens on loopback only.
    postgres_password: str = "temporal"  # noqa: S105 (a development default, as in compose)

    @property
    def postgres(self) -> Postgres:
        return Postgres(
            self.binaries.postgres_bin,
            self.layout.root / "postgres",
            self.ports.postgres,
            self.postgres_password,
        )

    @property
    def bundle(self) -> SignedBundle:
        """OPA loads policies/ as a signed bundle here, refusing a tampered one."""
        return SignedBundle.of(self.layout)

    @property
    def services(self) -> list[ServiceSpec]:
        tracing_and_policy = [
            spec
            for spec in stack_services(
                self.ports,
                self.layout,
                self.binaries,
                temporal_ui=False,
                signed_bundle=self.bundle.opa_args(),
            )
            if spec.name != "temporal"
        ]
        temporal = temporal_services(self.ports, self.binaries, self.postgres_password)
        return [self.postgres.spec(), *tracing_and_policy, *temporal]

    def up(self) -> list[str]:
        lines = self.write_development_secrets()
        postgres, *servers = self.services
        started: list[str] = []  # what this call started, stopped again if a later step fails
        try:
            initialised = self.postgres.initialise(process.log_file(self.layout, "postgres"))
            lines += [initialised] if initialised else []
            lines += self._start([postgres], started)
            lines.append(self.run_job("temporal-schema", ["sh", str(SCHEMA_JOB)]))
            if process.running_pid(self.layout, "opa") is None:
                lines.append(build_bundle(self.binaries.opa, self.layout.policies, self.bundle))
            lines += self._start(servers, started)
            pairs = [f"{name}={kind}" for name, kind in SEARCH_ATTRIBUTES.items()]
            lines.append(self.run_job("temporal-init", ["sh", str(INIT_JOB), *pairs]))
        except StackError:
            for name in reversed(started):
                process.stop(name, self.layout)
            raise
        return lines

    def _start(self, specs: list[ServiceSpec], started: list[str]) -> list[str]:
        lines = []
        for spec in specs:
            running_before = process.running_pid(self.layout, spec.name) is not None
            lines += process.start_all([spec], self.layout)
            if not running_before:
                started.append(spec.name)
        return lines

    def job_env(self) -> dict[str, str]:
        """The one-shot jobs' environment: compose.yaml's names, this stack's addresses."""
        tools = [str(self.binaries.temporal.parent), str(self.binaries.sql_tool.parent)]
        return {
            **database_env(self.ports, self.postgres_password),
            "TEMPORAL_SCHEMA_DIR": str(self.binaries.schema_dir),
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": os.environ.get("TEMPORAL_NAMESPACE", "").strip() or "default",
            "PATH": os.pathsep.join([*tools, os.environ.get("PATH", "")]),
        }

    def run_job(self, name: str, argv: list[str]) -> str:
        """Run a one-shot job to its end, its output in its own log; one line on success,
        a StackError quoting its last line otherwise."""
        log = process.log_file(self.layout, name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            offset = out.tell()
            try:
                done = subprocess.run(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **self.job_env()},
                    timeout=JOB_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise StackError(
                    f"{name}: still running after {JOB_TIMEOUT_S:.0f}s, so it was stopped; "
                    f"see {log}"
                ) from None
        with log.open("rb") as written:
            written.seek(offset)
            output = written.read().decode(errors="replace").strip().splitlines()
        last = output[-1][:300].removeprefix(f"{name}: ") if output else "no output"
        if done.returncode != 0:
            raise StackError(
                f"{name}: exited with status {done.returncode}: {last!r}; full log: {log}"
            )
        return f"{name}: {last}"


CLUSTER_DATA = DEFAULT_DATA / "cluster"


def default_cluster(data: Path = CLUSTER_DATA) -> ClusterStack:
    """The `make cluster-up` stack: ports from ORCH_*_PORT, state under .data/cluster/."""
    return ClusterStack(
        ClusterPorts.from_env(),
        StackLayout(root=data),
        ClusterBinaries.locate(),
        postgres_password=os.environ.get("POSTGRES_PASSWORD", "").strip() or "temporal",
    )
