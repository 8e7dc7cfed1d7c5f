"""One local stack: its ports, where it keeps state, and the addresses clients use."""

from __future__ import annotations

import json
import secrets
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
    api_service,
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

    @property
    def api(self) -> ServiceSpec:
        return api_service(self.ports, self.client_env(), self.development_tokens())

    def service(self, name: str) -> ServiceSpec:
        for spec in [*self.services, self.worker, self.api]:
            if spec.name == name:
                return spec
        raise StackError(f"{name}: no such service (expected one of jaeger, opa, temporal).")

    def up(self) -> list[str]:
        lines = []
        if write_development_keys(self.layout.identities, self.directory_people()):
            lines.append(f"identities: wrote development approval keys to {self.layout.identities}")
        if write_development_tokens(self.layout.api_tokens, self.directory_people()):
            lines.append(f"api: wrote development sign-in tokens to {self.layout.api_tokens}")
        return [*lines, *process.start_all(self.services, self.layout)]

    def directory_people(self) -> list[str]:
        """Everyone in the policy directory: each gets a development key to approve with."""
        directory = self.layout.policies / "orchestrator" / "directory" / "data.yaml"
        return sorted(yaml.safe_load(directory.read_text()).get("people", {}))

    def development_tokens(self) -> dict[str, str]:
        """Each directory person's development API token (written by `up`)."""
        if not self.layout.api_tokens.exists():
            return {}
        tokens: dict[str, str] = json.loads(self.layout.api_tokens.read_text())
        return tokens

    def console_hint(self) -> str:
        """Where the operator console is and how to sign in to it."""
        return (
            f"Console: {self.api.url} (sign in as bob or carol with their development token "
            f"from {self.layout.api_tokens})"
        )

    def down(self) -> list[str]:
        every = [self.api, self.worker, *reversed(self.services)]
        return [process.stop(spec.name, self.layout) for spec in every]

    def restart_worker(self) -> list[str]:
        """A fresh background worker, so it runs the code as it is now."""
        return [process.stop("worker", self.layout), *self.start("worker")]

    def restart_api(self) -> list[str]:
        """A fresh background API and console, so they serve the code as it is now."""
        return [process.stop("api", self.layout), *self.start("api")]

    def stop(self, name: str) -> str:
        return process.stop(name, self.layout)

    def start(self, name: str) -> list[str]:
        return process.start_all([self.service(name)], self.layout)

    def status(self) -> list[process.ServiceState]:
        """The three servers, and the background worker and API when they run."""
        states = [process.state(spec, self.layout) for spec in self.services]
        extras = [process.state(spec, self.layout) for spec in (self.worker, self.api)]
        return [*states, *(state for state in extras if state.running)]

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
            "ORCH_CONSOLE_URL": f"http://127.0.0.1:{self.ports.api}",
        }


DEFAULT_DATA = REPO_ROOT / ".data"


def default_stack(data: Path = DEFAULT_DATA) -> LocalStack:
    """The `make up` stack: ports from ORCH_*_PORT, state under .data/."""
    return LocalStack(Ports.from_env(), StackLayout(root=data), Binaries.locate())


def write_development_tokens(path: Path, people: list[str]) -> bool:
    """A random API token per person for the local console; False if the file exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({who: secrets.token_urlsafe(24) for who in people}, indent=2))
    path.chmod(0o600)
    return True
