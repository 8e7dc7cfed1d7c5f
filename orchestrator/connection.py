"""Connecting to Temporal the same way from every process (worker, CLI, HTTP API), and
telling whether a worker is there to answer (`require_worker`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import temporalio.converter
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from orchestrator.codec.codec import EncryptionCodec, KeyRing
from orchestrator.config import TemporalSettings
from telemetry.temporal import tracing_interceptor


def tls_config(settings: TemporalSettings) -> TLSConfig | bool:
    if settings.tls_cert or settings.tls_ca:
        return TLSConfig(
            server_root_ca_cert=settings.tls_ca.read_bytes() if settings.tls_ca else None,
            client_cert=settings.tls_cert.read_bytes() if settings.tls_cert else None,
            client_private_key=settings.tls_key.read_bytes() if settings.tls_key else None,
        )
    # An API key (Temporal Cloud) always travels over TLS.
    return settings.tls or settings.api_key is not None


def data_converter(settings: TemporalSettings) -> DataConverter:
    """The default converter, encrypting payloads when a key file is configured."""
    if settings.encryption_keys_file is None:
        return temporalio.converter.default()
    codec = EncryptionCodec(KeyRing.load(settings.encryption_keys_file))
    return dataclasses.replace(temporalio.converter.default(), payload_codec=codec)


async def connect(settings: TemporalSettings, *, runtime: Runtime | None = None) -> Client:
    """A client with the tracing interceptor, so starts and updates join the caller's trace."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=tls_config(settings),
        interceptors=[tracing_interceptor()],
        runtime=runtime,
        data_converter=data_converter(settings),
    )


class NoWorker(Exception):
    """Nothing polls the task queue: queries and updates would wait for a worker forever."""

    def __init__(self, task_queue: str) -> None:
        super().__init__(
            f"no worker is polling task queue {task_queue!r}: start one with `make worker` "
            "(or `orchestrator worker`), then try again."
        )
        self.task_queue = task_queue


async def pollers(client: Client, task_queue: str) -> list[str]:
    """Identities of the workers that polled `task_queue` for workflow tasks lately.

    Temporal keeps a poller for a few minutes after its last poll, so a worker stopped a
    moment ago may still be listed; one that never ran, or stopped long ago, is not.
    """
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=5),
    )
    return [poller.identity for poller in answer.pollers]


async def require_worker(client: Client, task_queue: str) -> None:
    """Raise NoWorker, within seconds, when no worker polls `task_queue`."""
    if not await pollers(client, task_queue):
        raise NoWorker(task_queue)
