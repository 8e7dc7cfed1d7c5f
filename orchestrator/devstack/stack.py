"""One local stack: its ports, where it keeps state, and the addresses clients use."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator.audit.checkpoint import write_keypair
from orchestrator.devstack import process
from orchestrator.devstack.services import (
    REPO_ROOT,
    Binaries,
    Ports,
    ServiceSpec,
    StackError,
    StackLayout,
    api_service,
    codec_service,
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
    # Payloads encrypted with these keys: the stack adds a codec server for the UI.
    encryption_keys_file: Path | None = None
    # Benchmarks only: Temporal without its SQLite file (see services.stack_services).
    temporal_in_memory: bool = False

    @property
    def services(self) -> list[ServiceSpec]:
        """The servers `up` starts: Jaeger, OPA, Temporal, and the codec server when
        payloads are encrypted and the UI runs (it is the codec server's only client)."""
        servers = stack_services(
            self.ports,
            self.layout,
            self.binaries,
            temporal_ui=self.temporal_ui,
            codec_endpoint=self.codec_endpoint,
            temporal_in_memory=self.temporal_in_memory,
        )
        codec = self.codec
        return servers if codec is None else [*servers, codec]

    @property
    def decodes_for_ui(self) -> bool:
        """Whether the stack runs a codec server: payloads are encrypted and the UI runs."""
        return self.encryption_keys_file is not None and self.temporal_ui

    @property
    def codec(self) -> ServiceSpec | None:
        if not self.decodes_for_ui:
            return None
        env = {**self.client_env(), "ORCH_ENCRYPTION_KEYS_FILE": str(self.encryption_keys_file)}
        return codec_service(self.ports, env, self.codec_tokens())

    @property
    def codec_endpoint(self) -> str | None:
        """The UI's codec endpoint, the token its path's one segment: the dev server's UI
        has no signed-in user, so no bearer token to send (orchestrator/codec/server.py)."""
        if not self.decodes_for_ui or not self.layout.codec_token.exists():
            return None  # `up` writes the token before it starts anything
        return f"http://127.0.0.1:{self.ports.codec}/{self.layout.codec_token.read_text().strip()}"

    def codec_tokens(self) -> list[str]:
        """The UI's development token, and any the caller set in ORCH_CODEC_TOKENS."""
        configured = os.environ.get("ORCH_CODEC_TOKENS", "").split(",")
        own = (
            [self.layout.codec_token.read_text().strip()]
            if self.layout.codec_token.exists()
            else []
        )
        return [*own, *(token.strip() for token in configured if token.strip())]

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
        names = ", ".join(spec.name for spec in [*self.services, self.worker, self.api])
        raise StackError(f"{name}: no such service (expected one of {names}).")

    def up(self) -> list[str]:
        lines = self.write_development_secrets()
        lines += process.start_all(self.services, self.layout)
        return [*lines, *self.codec_notes()]

    def write_development_secrets(self) -> list[str]:
        """Approval keys and sign-in tokens for the directory's people (and the UI's codec
        token), each written once; a line for each file written now."""
        lines = []
        if write_development_keys(self.layout.identities, self.directory_people()):
            lines.append(f"identities: wrote development approval keys to {self.layout.identities}")
        if write_development_tokens(self.layout.api_tokens, self.directory_people()):
            lines.append(f"api: wrote development sign-in tokens to {self.layout.api_tokens}")
        if write_keypair(self.layout.audit_signing_key, self.layout.audit_public_key):
            lines.append(
                f"audit: wrote a development checkpoint signing key to "
                f"{self.layout.audit_signing_key} (public half beside it)"
            )
        if self.codec is not None and write_secret(self.layout.codec_token):
            lines.append(f"codec: wrote the Temporal UI's codec token to {self.layout.codec_token}")
        return lines

    def codec_notes(self) -> list[str]:
        """What to do when the UI cannot decode: a Temporal started before encryption was
        configured keeps its UI without the codec endpoint until it restarts."""
        endpoint = self.codec_endpoint
        if endpoint is None:
            return []
        pid = process.running_pid(self.layout, "temporal")
        if pid is None or endpoint in process.command_line(pid):
            return [
                f"codec: the Temporal UI shows payloads decoded by http://127.0.0.1:{self.ports.codec}"
            ]
        return [
            "codec: Temporal was started before ORCH_ENCRYPTION_KEYS_FILE was set, so its UI "
            "shows payloads encrypted; `make down && make up` restarts it with the codec endpoint"
        ]

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
        lines = [process.stop(spec.name, self.layout) for spec in every]
        # A codec server started while encryption was configured, though now it is not.
        if self.codec is None and process.read_pid(self.layout, "codec") is not None:
            lines.append(process.stop("codec", self.layout))
        return lines

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
            "OPA_POLICY_DIR": str(self.layout.policies),
            "OPA_LOG_FILE": str(process.log_file(self.layout, "opa")),
            "JAEGER_QUERY_URL": self.jaeger_query_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_grpc_endpoint,
            "ORCH_IDENTITY_KEYS_FILE": str(self.layout.identities),
            "ORCH_AUDIT_SIGNING_KEY_FILE": str(self.layout.audit_signing_key),
            "ORCH_AUDIT_CHECKPOINT_LOG": str(self.layout.audit_checkpoints),
            "ORCH_AUDIT_ARCHIVE_DIR": str(self.layout.audit_exports),
            "ORCH_CONSOLE_URL": f"http://127.0.0.1:{self.ports.api}",
        }


DEFAULT_DATA = REPO_ROOT / ".data"


def default_stack(data: Path = DEFAULT_DATA) -> LocalStack:
    """The `make up` stack: ports from ORCH_*_PORT, state under .data/, and a codec server
    for the UI when ORCH_ENCRYPTION_KEYS_FILE is set (a wrong path is the codec server's
    start failure, quoted by `up`; `down` and `status` still work)."""
    keys = os.environ.get("ORCH_ENCRYPTION_KEYS_FILE", "").strip()
    return LocalStack(
        Ports.from_env(),
        StackLayout(root=data),
        Binaries.locate(),
        encryption_keys_file=Path(keys).resolve() if keys else None,
    )


def write_secret(path: Path) -> bool:
    """A random token in `path`, readable by its owner only; False if the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # created private: never readable by others, not even for a moment
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(24) + "\n")
    return True


def write_development_tokens(path: Path, people: list[str]) -> bool:
    """A random API token per person for the local console; False if the file exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({who: secrets.token_urlsafe(24) for who in people}, indent=2))
    path.chmod(0o600)
    return True
