"""One local stack: its ports, where it keeps state, and the addresses clients use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator.devstack import process
from orchestrator.devstack.services import (
    REPO_ROOT,
    Binaries,
    Ports,
    ServiceSpec,
    StackError,
    StackLayout,
    stack_services,
    worker_service,
)
from orchestrator.policy.identity import write_development_keys


@dataclass(frozen=True)
class LocalStack:
    ports: Ports
    layout: StackLayout
    binaries: Binaries
    temporal_ui: bool = True

    @property
    def services(self) -> list[ServiceSpec]:
        return stack_services(self.ports, self.layout, self.binaries, temporal_ui=self.temporal_ui)

    @property
    def worker(self) -> ServiceSpec:
        return worker_service(self.ports, self.layout, self.client_env())

    def service(self, name: str) -> ServiceSpec:
        for spec in [*self.services, self.worker]:
            if spec.name == name:
                return spec
        raise StackError(f"{name}: no such service (expected one of jaeger, opa, temporal).")

    def up(self) -> list[str]:
        lines = []
        if write_development_keys(self.layout.identities, self.directory_people()):
            lines.append(f"identities: wrote development approval keys to {self.layout.identities}")
        return [*lines, *process.start_all(self.services, self.layout)]

    def directory_people(self) -> list[str]:
        """Everyone in the policy directory: each gets a development key to approve with."""
        directory = self.layout.policies / "orchestrator" / "directory" / "data.yaml"
        return sorted(yaml.safe_load(directory.read_text()).get("people", {}))

    def down(self) -> list[str]:
        every = [self.worker, *reversed(self.services)]
        return [process.stop(spec.name, self.layout) for spec in every]

    def restart_worker(self) -> list[str]:
        """A fresh background worker, so it runs the code as it is now."""
        return [process.stop("worker", self.layout), *self.start("worker")]

    def stop(self, name: str) -> str:
        return process.stop(name, self.layout)

    def start(self, name: str) -> list[str]:
        return process.start_all([self.service(name)], self.layout)

    def status(self) -> list[process.ServiceState]:
        """The three servers, and the background worker when one runs."""
        states = [process.state(spec, self.layout) for spec in self.services]
        worker = process.state(self.worker, self.layout)
        return [*states, worker] if worker.running else states

    # Addresses, in the form each client expects.
    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.temporal_ui}"

    @property
    def opa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.opa}"

    @property
    def jaeger_query_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.jaeger_query}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.jaeger_otlp_grpc}"

    @property
    def otlp_http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.jaeger_otlp_http}"

    def client_env(self) -> dict[str, str]:
        """The variables that point the orchestrator's processes at this stack."""
        return {
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_UI_URL": self.temporal_ui_url,
            "OPA_URL": self.opa_url,
            "JAEGER_QUERY_URL": self.jaeger_query_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_grpc_endpoint,
            "ORCH_IDENTITY_KEYS_FILE": str(self.layout.identities),
        }


DEFAULT_DATA = REPO_ROOT / ".data"


def default_stack(data: Path = DEFAULT_DATA) -> LocalStack:
    """The `make up` stack: ports from ORCH_*_PORT, state under .data/."""
    return LocalStack(Ports.from_env(), StackLayout(root=data), Binaries.locate())
