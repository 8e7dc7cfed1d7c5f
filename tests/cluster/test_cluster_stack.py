"""The cluster stack fails as clearly as the dev stack and leaves nothing behind; and it
runs what compose.yaml runs (server version, database settings, schema and init jobs)."""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from orchestrator.devstack import StackError, StackLayout, process
from orchestrator.devstack.cluster import ClusterPorts, ClusterStack
from orchestrator.devstack.cluster.binaries import ClusterBinaries
from orchestrator.devstack.cluster.stack import INIT_JOB, SCHEMA_JOB
from orchestrator.devstack.cluster.temporal import DYNAMIC_CONFIG, database_env
from orchestrator.devstack.probes import is_healthy
from orchestrator.devstack.services import REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="orch-cluster-"))
    path.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data directory
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_busy_port_stops_what_was_started_and_names_the_service(folder: Path) -> None:
    stack = ClusterStack(ClusterPorts.free(), StackLayout(root=folder), ClusterBinaries.locate())
    with socket.socket() as squatter:
        # History's port taken: PostgreSQL, the schema job, Jaeger and OPA have run by then.
        squatter.bind(("127.0.0.1", stack.ports.history))
        squatter.listen()
        with pytest.raises(StackError) as refused:
            stack.up()
    message = str(refused.value)
    assert message.startswith(f"temporal-history: port {stack.ports.history} on 127.0.0.1")
    assert "already in use" in message
    for spec in stack.services:
        assert process.running_pid(stack.layout, spec.name) is None, spec.name
        assert not is_healthy(spec.health_url), spec.name
    # The database was made, and is kept for the next `up` (as the dev server's file is).
    assert (folder / "postgres" / "PG_VERSION").exists()


def test_a_missing_server_binary_names_the_command_that_builds_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORCH_TEMPORAL_SERVER", str(tmp_path / "nowhere"))
    with pytest.raises(StackError) as missing:
        ClusterBinaries.locate()
    assert str(missing.value).startswith("temporal-server: ")
    assert "make cluster-servers" in str(missing.value)


def test_probes_say_no_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not is_healthy(f"postgres://127.0.0.1:{port}")
    assert not is_healthy(f"grpc-health://127.0.0.1:{port}/temporal.api.workflowservice.v1.X")


def compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        (REPO_ROOT / "compose.yaml").read_text()
    )["services"]
    return services


def test_compose_runs_the_cluster_stacks_server_version_settings_and_jobs() -> None:
    pinned = re.search(
        r"go\.temporal\.io/server (v\S+)",
        (REPO_ROOT / "tools" / "servers" / "temporal" / "go.mod").read_text(),
    )
    assert pinned is not None
    version = pinned.group(1).removeprefix("v")
    services = compose()
    for name in ("temporal", "temporal-schema", "temporal-init"):
        image = str(services[name]["image"])
        assert image.rsplit(":", 1)[1] == version, (name, image)
    # The same database settings, by the same names (the server image's template reads them).
    env = services["temporal"]["environment"]
    assert isinstance(env, dict)
    for key in database_env(ClusterPorts(), "temporal"):
        assert key in env, key
    # The same one-shot scripts and dynamic config.
    assert services["temporal-schema"]["command"] == [f"/deploy/{SCHEMA_JOB.name}"]
    assert services["temporal-init"]["command"][0] == f"/deploy/{INIT_JOB.name}"  # type: ignore[index]
    assert str(env["DYNAMIC_CONFIG_FILE_PATH"]).endswith(DYNAMIC_CONFIG.name)
