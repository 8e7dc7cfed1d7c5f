"""Configuration of every orchestrator process, read once from the environment.

| variable | default | meaning |
|---|---|---|
| TEMPORAL_ADDRESS | 127.0.0.1:7233 | Temporal frontend (host:port) |
| TEMPORAL_NAMESPACE | default | namespace |
| TEMPORAL_TASK_QUEUE | orchestrator | task queue the worker polls |
| TEMPORAL_API_KEY | - | API key for Temporal Cloud (implies TLS) |
| TEMPORAL_TLS | false | TLS without client certificate (`true`) |
| TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY | - | mTLS client certificate and key files |
| TEMPORAL_TLS_CA | - | CA bundle for the server's certificate |
| TEMPORAL_UI_URL | http://127.0.0.1:8233 | where links to the Web UI point |
| OPA_URL | http://127.0.0.1:8181 | the OPA sidecar |
| OPA_DECISION_PATH | orchestrator/main/decision | Data API path of the decision |
| OPA_TIMEOUT_SECONDS | 2.0 | per-request timeout to OPA |
| OPA_SHADOW_DECISION_PATH | shadow/main/decision | candidate policy asked beside it (`off`: none) |
| OPA_SHADOW_SAMPLE_RATE | 1.0 | share of decisions (0 to 1) the candidate is asked about |
| OPA_POLICY_DIR | - | the policy files OPA watches: the worker warns when OPA serves stale policy |
| OPA_LOG_FILE | - | OPA's log, where that warning finds OPA's load error |
| JAEGER_QUERY_URL | http://127.0.0.1:16686 | Jaeger query API (trace viewer) |
| ORCH_METRICS_PORT | 9464 | worker's Prometheus port (0 = off) |
| ORCH_METRICS_HOST | 127.0.0.1 | interface it binds (0.0.0.0 in a container) |
| ORCH_LOG_LEVEL | INFO | log level |
| ORCH_AGENT_OUTBOX | .data/outbox | where the agent delivers its work orders |
| ORCH_ENCRYPTION_KEYS_FILE | - | encrypt payloads (see orchestrator/codec/codec.py) |
| ORCH_IDENTITY_KEYS_FILE | .data/identities.json | keys that sign and verify approvals |
| ORCH_IDENTITY | - | who this CLI approves as (a key in that file) |
| ORCH_AUDIT_SIGNING_KEY_FILE | - | Ed25519 key (PEM) that signs a checkpoint of each audit export |
| ORCH_AUDIT_CHECKPOINT_LOG | .data/audit-checkpoints.jsonl | append-only log of those checkpoints |
| ORCH_AUDIT_ARCHIVE_DIR | .data/audit-exports | where scheduled checkpoints archive their exports |
| ORCH_NOTIFY_WEBHOOK | - | URL that approval requests and escalation notices are POSTed to |
| ORCH_CONSOLE_URL | - | the console's address, linked from escalation notices |
| ORCH_CODEC_TOKENS | - | bearer tokens the codec server answers (comma-separated) |
| ORCH_WORKER_SERVICE_NAME | orchestrator-worker | its name in Jaeger and its metrics |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A configuration variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class TemporalSettings:
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "orchestrator"
    api_key: str | None = None
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    ui_url: str = "http://127.0.0.1:8233"
    encryption_keys_file: Path | None = None


@dataclass(frozen=True)
class OpaSettings:
    url: str = "http://127.0.0.1:8181"
    decision_path: str = "orchestrator/main/decision"
    timeout_seconds: float = 2.0
    # None: no candidate policy is evaluated.
    shadow_decision_path: str | None = "shadow/main/decision"
    # The share of decisions the candidate is asked about (a random sample).
    shadow_sample_rate: float = 1.0
    # Where OPA loads policy from and logs (local stack): to tell when it serves stale policy.
    policy_dir: Path | None = None
    log_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    temporal: TemporalSettings
    opa: OpaSettings
    jaeger_query_url: str = "http://127.0.0.1:16686"
    metrics_port: int = 9464
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    agent_outbox: Path = Path(".data/outbox")
    # Read when used (the worker at start, the CLI when it signs), so a missing file only
    # matters to the commands that need it.
    identity_keys_file: Path = Path(".data/identities.json")
    identity: str | None = None
    notify_webhook: str | None = None
    console_url: str | None = None
    codec_tokens: tuple[str, ...] = ()
    worker_service_name: str = "orchestrator-worker"
    # Audit checkpoints (orchestrator/audit/checkpoint.py): exports are signed only when a
    # key is set; the key is the exporter's alone, apart from the approval keys.
    audit_signing_key_file: Path | None = None
    audit_checkpoint_log: Path = Path(".data/audit-checkpoints.jsonl")
    audit_archive_dir: Path = Path(".data/audit-exports")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        def optional_path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            if not value:
                return None
            if not Path(value).is_file():
                raise ConfigError(f"{name}={value}: no such file.")
            return Path(value)

        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number.") from None
            if value < 0:
                raise ConfigError(f"{name}={raw!r} must not be negative.")
            return value

        def flag(name: str) -> bool:
            raw = env.get(name, "").strip().lower()
            if raw in ("", "0", "false", "no"):
                return False
            if raw in ("1", "true", "yes"):
                return True
            raise ConfigError(f"{name}={raw!r}: expected true or false.")

        temporal = TemporalSettings(
            address=text("TEMPORAL_ADDRESS", TemporalSettings.address),
            namespace=text("TEMPORAL_NAMESPACE", TemporalSettings.namespace),
            task_queue=text("TEMPORAL_TASK_QUEUE", TemporalSettings.task_queue),
            api_key=env.get("TEMPORAL_API_KEY") or None,
            tls=flag("TEMPORAL_TLS"),
            tls_cert=optional_path("TEMPORAL_TLS_CERT"),
            tls_key=optional_path("TEMPORAL_TLS_KEY"),
            tls_ca=optional_path("TEMPORAL_TLS_CA"),
            ui_url=text("TEMPORAL_UI_URL", TemporalSettings.ui_url).rstrip("/"),
            encryption_keys_file=optional_path("ORCH_ENCRYPTION_KEYS_FILE"),
        )
        if number("OPA_SHADOW_SAMPLE_RATE", 1.0) > 1:
            raise ConfigError(
                f"OPA_SHADOW_SAMPLE_RATE={env['OPA_SHADOW_SAMPLE_RATE']!r} must be between 0 and 1."
            )
        if (temporal.tls_cert is None) != (temporal.tls_key is None):
            raise ConfigError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together.")
        opa = OpaSettings(
            url=text("OPA_URL", OpaSettings.url).rstrip("/"),
            decision_path=text("OPA_DECISION_PATH", OpaSettings.decision_path).strip("/"),
            timeout_seconds=number("OPA_TIMEOUT_SECONDS", OpaSettings.timeout_seconds),
            shadow_decision_path=_shadow_path(env.get("OPA_SHADOW_DECISION_PATH")),
            shadow_sample_rate=number("OPA_SHADOW_SAMPLE_RATE", OpaSettings.shadow_sample_rate),
            policy_dir=_path(env.get("OPA_POLICY_DIR")),
            log_file=_path(env.get("OPA_LOG_FILE")),
        )
        return cls(
            temporal=temporal,
            opa=opa,
            jaeger_query_url=text("JAEGER_QUERY_URL", cls.jaeger_query_url).rstrip("/"),
            metrics_port=int(number("ORCH_METRICS_PORT", cls.metrics_port)),
            metrics_host=text("ORCH_METRICS_HOST", cls.metrics_host),
            log_level=text("ORCH_LOG_LEVEL", cls.log_level).upper(),
            agent_outbox=Path(text("ORCH_AGENT_OUTBOX", str(cls.agent_outbox))),
            identity_keys_file=Path(text("ORCH_IDENTITY_KEYS_FILE", ".data/identities.json")),
            notify_webhook=env.get("ORCH_NOTIFY_WEBHOOK", "").strip() or None,
            console_url=env.get("ORCH_CONSOLE_URL", "").strip().rstrip("/") or None,
            identity=env.get("ORCH_IDENTITY", "").strip() or None,
            codec_tokens=tuple(
                token.strip()
                for token in env.get("ORCH_CODEC_TOKENS", "").split(",")
                if token.strip()
            ),
            worker_service_name=text("ORCH_WORKER_SERVICE_NAME", cls.worker_service_name),
            audit_signing_key_file=_path(env.get("ORCH_AUDIT_SIGNING_KEY_FILE")),
            audit_checkpoint_log=Path(
                text("ORCH_AUDIT_CHECKPOINT_LOG", str(cls.audit_checkpoint_log))
            ),
            audit_archive_dir=Path(text("ORCH_AUDIT_ARCHIVE_DIR", str(cls.audit_archive_dir))),
        )

    @property
    def audit_task_queue(self) -> str:
        """The task queue of scheduled audit checkpoints: polled only by a worker that holds
        the signing key (orchestrator/worker.py)."""
        return f"{self.temporal.task_queue}.audit-checkpoints"

    def workflow_link(self, workflow_id: str, run_id: str | None = None) -> str:
        """The Temporal Web UI page of a workflow."""
        base = (
            f"{self.temporal.ui_url}/namespaces/{self.temporal.namespace}/workflows/{workflow_id}"
        )
        return f"{base}/{run_id}/history" if run_id else base


def _path(raw: str | None) -> Path | None:
    return Path(raw.strip()) if raw and raw.strip() else None


def _shadow_path(raw: str | None) -> str | None:
    """Unset: the default candidate path; `off` or `none`: no shadow evaluation."""
    if raw is None or not raw.strip():
        return OpaSettings.shadow_decision_path
    value = raw.strip().strip("/")
    return None if value.lower() in ("off", "none") else value
