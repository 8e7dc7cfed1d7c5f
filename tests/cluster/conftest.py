"""A real Temporal cluster for the session: PostgreSQL and Temporal's four services as
separate processes (orchestrator/devstack/cluster), with OPA and Jaeger of its own, on
free ports in a temporary folder. Started only when a cluster test runs; nothing skips.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.devstack import StackError, StackLayout
from orchestrator.devstack.cluster import ClusterPorts, ClusterStack
from orchestrator.devstack.cluster.binaries import ClusterBinaries
from tests.support import share_identities

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterStack]:
    # Not pytest's temp folder: it is mode 700, and PostgreSQL runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="orch-cluster-"))
    folder.chmod(0o755)
    try:
        stack = ClusterStack(
            ClusterPorts.free(), StackLayout(root=folder), ClusterBinaries.locate()
        )
        share_identities(stack.layout)
        stack.up()
    except StackError as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start the test cluster: {error}", pytrace=False)
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(stack.layout.identities)
    yield stack
    stack.down()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster_base_settings(cluster: ClusterStack) -> Settings:
    settings = Settings.from_env(cluster.client_env())
    return replace(settings, metrics_port=0, agent_outbox=cluster.layout.root / "outbox")


@pytest.fixture
def cluster_settings(cluster_base_settings: Settings) -> Settings:
    """Per test: its own task queue, as the dev-server tests have."""
    temporal = replace(
        cluster_base_settings.temporal, task_queue=f"cluster-{uuid.uuid4().hex[:10]}"
    )
    return replace(cluster_base_settings, temporal=temporal)


@pytest.fixture(scope="session")
async def cluster_client(cluster_base_settings: Settings) -> Client:
    return await connect(cluster_base_settings.temporal)
