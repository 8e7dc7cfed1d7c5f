"""The worker process: serves the workflows and activities on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.approvals.escalation import EscalationActivities
from orchestrator.audit.scheduled import CheckpointActivities
from orchestrator.audit.scheduled_workflow import AuditCheckpointWorkflow
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.declarative.activities import validate_definition
from orchestrator.declarative.catalogs import installed_catalog
from orchestrator.declarative.workflow import DeclarativeWorkflow
from orchestrator.governed.activities import AgentActivities, Outbox
from orchestrator.governed.workflow import GovernedWorkflow
from orchestrator.policy.activity import PolicyActivities
from orchestrator.policy.client import OpaClient
from orchestrator.policy.identity import IdentityError, Keyring
from orchestrator.policy.shadow import ShadowEvaluator
from orchestrator.policy.stale import PolicyWatch
from telemetry.httpx_tracing import instrument_client
from telemetry.metrics import PolicyMetrics, create_runtime

log = logging.getLogger(__name__)

WORKFLOWS: list[type] = [GovernedWorkflow, DeclarativeWorkflow]
AUDIT_WORKFLOWS: list[type] = [AuditCheckpointWorkflow]
# What any worker of this project runs: every recorded history replays against these.
EVERY_WORKFLOW: list[type] = [*WORKFLOWS, *AUDIT_WORKFLOWS]


def build_worker(
    client: Client, settings: Settings, opa: OpaClient, metrics: PolicyMetrics | None = None
) -> Worker:
    """The worker with every workflow and activity registered; tests build theirs the same way."""
    # traceparent reaches OPA, so OPA's own span joins the workflow's trace.
    instrument_client(
        opa.http,
        enforcing_path=settings.opa.decision_path,
        shadow_path=settings.opa.shadow_decision_path,
    )
    shadow_path = settings.opa.shadow_decision_path
    policy = PolicyActivities(
        opa,
        metrics,
        keyring=load_keyring(settings),
        shadow=(
            ShadowEvaluator(opa, shadow_path, settings.opa.shadow_sample_rate)
            if shadow_path
            else None
        ),
    )
    agent = AgentActivities(Outbox(settings.agent_outbox))
    escalation = EscalationActivities(
        settings.notify_webhook,
        console_url=settings.console_url,
        temporal_link=settings.workflow_link,
    )
    # The definitions' activities: every catalog of the deployment (catalogs/__init__.py),
    # which the workflow validates and builds against too.
    catalog = installed_catalog()
    return Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=[
            policy.decide,
            agent.execute,
            agent.cleanup,
            escalation.escalate,
            escalation.requested,
            validate_definition,
            *catalog.activities(),
        ],
        # On shutdown, give running activities time to finish before they are cancelled.
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def build_audit_worker(client: Client, settings: Settings) -> Worker | None:
    """The worker of scheduled audit checkpoints, on its own task queue; None without a
    signing key, so only a process given the key ever signs."""
    if settings.audit_signing_key_file is None:
        return None
    checkpoints = CheckpointActivities(
        client,
        key_file=settings.audit_signing_key_file,
        log=settings.audit_checkpoint_log,
        archive=settings.audit_archive_dir,
    )
    return Worker(
        client,
        task_queue=settings.audit_task_queue,
        workflows=AUDIT_WORKFLOWS,
        activities=[checkpoints.checkpoint],
        # One export at a time: each reads every history of its window.
        max_concurrent_activities=1,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def load_keyring(settings: Settings) -> Keyring | None:
    """The keys approvals are verified with; without them every approval is refused."""
    try:
        return Keyring.load(settings.identity_keys_file)
    except IdentityError as error:
        log.warning("approvals will be refused as unauthenticated: %s", error)
        return None


async def run_worker(settings: Settings, *, audit_only: bool = False) -> None:
    """The workers of this process until SIGTERM or Ctrl-C: the policy worker (unless
    `audit_only`) and, when the signing key is set, the scheduled checkpoints' worker."""
    runtime = create_runtime(
        f"{settings.metrics_host}:{settings.metrics_port}" if settings.metrics_port else None,
        service_name=settings.worker_service_name,
    )
    try:
        client = await connect(settings.temporal, runtime=runtime)
    except RuntimeError as error:  # what the SDK raises when the connection fails
        # A record like the worker's others, not a traceback: that would be thirty lines
        # of text in the middle of the JSON log.
        log.error(
            "cannot reach Temporal at %s (%s); is it up? (`make up`)",
            settings.temporal.address,
            error,
        )
        raise SystemExit(1) from None
    workers: list[Worker] = []
    opa = None
    if not audit_only:
        policy_dir = settings.opa.policy_dir
        watch = PolicyWatch(policy_dir, settings.opa.log_file) if policy_dir else None
        opa = OpaClient(settings.opa, watch=watch)
        workers.append(build_worker(client, settings, opa, PolicyMetrics(runtime.metric_meter)))
        log.info(
            "worker polling %s on %s (namespace %s); OPA at %s; metrics on :%s",
            settings.temporal.task_queue,
            settings.temporal.address,
            settings.temporal.namespace,
            settings.opa.url,
            settings.metrics_port or "off",
        )
    audit_worker = build_audit_worker(client, settings)
    if audit_worker is not None:
        workers.append(audit_worker)
        log.info("scheduled audit checkpoints served on %s", settings.audit_task_queue)
    # SIGTERM (`make down`, a container stop) drains the worker like Ctrl-C does, so
    # in-flight tasks finish or are handed back and the caller flushes its spans.
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with contextlib.AsyncExitStack() as running:
            for each in workers:
                await running.enter_async_context(each)
            await stopping.wait()
            log.info("worker stopping")
    finally:
        if opa is not None:
            await opa.aclose()


def main(settings: Settings, *, audit_only: bool = False) -> None:
    if audit_only and settings.audit_signing_key_file is None:
        log.error("worker --audit-only signs checkpoints: set ORCH_AUDIT_SIGNING_KEY_FILE")
        raise SystemExit(1)
    asyncio.run(run_worker(settings, audit_only=audit_only))
