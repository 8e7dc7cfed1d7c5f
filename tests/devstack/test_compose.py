"""compose.yaml, Dockerfile and .dockerignore, checked offline (no Docker engine needed).

The compose file is validated against the compose-spec JSON schema that check-jsonschema
vendors (`--builtin-schema vendor.compose-spec`, no network), then its topology is checked
against what the code relies on: the OPA flags the local stack uses, the search attributes
the workflows upsert, the variables the worker reads, the versions tools/servers pins.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.devstack import StackLayout
from orchestrator.devstack.bundle import SignedBundle
from orchestrator.devstack.services import opa_settings
from orchestrator.vocabulary import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Jaeger tags each release twice: the Go module version the local stack builds
# (tools/servers/jaeger/go.mod) and the v2 image tag compose.yaml pulls.
JAEGER_IMAGE_FOR_MODULE = {"v1.76.0": "2.13.0"}

WORKER_ENV = {
    "TEMPORAL_ADDRESS": "temporal:7233",
    "TEMPORAL_NAMESPACE": "default",
    "TEMPORAL_TASK_QUEUE": "orchestrator",
    "OPA_URL": "http://opa:8181",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4317",
    "OTEL_SERVICE_NAME": "orchestrator-worker",
    "ORCH_METRICS_PORT": "9464",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict), "compose.yaml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def _check_jsonschema() -> Path:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.fail(
            f"{exe} is missing: install the dev tools (`make setup`, or "
            f"`{Path(sys.executable).parent}/pip install -e '.[dev]'`).",
            pytrace=False,
        )
    return exe


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_check_jsonschema()), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _go_mod_version(tool: str, module: str) -> str:
    go_mod = (ROOT / "tools" / "servers" / tool / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod, re.MULTILINE)
    assert match, f"{module} is not required in tools/servers/{tool}/go.mod"
    return match.group(1)


def _image(service: dict[str, Any]) -> tuple[str, str]:
    name, _, tag = str(service["image"]).rpartition(":")
    return name, tag


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


# --- the schema -------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = _validate(COMPOSE)
    assert result.returncode == 0, f"compose.yaml is not valid:\n{result.stdout}{result.stderr}"


def test_the_schema_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  opa:\n    image: 1\n    ports: {a: b}\n    bogus: true\n")
    result = _validate(broken)
    assert result.returncode != 0, "check-jsonschema accepted an invalid compose file"
    assert "bogus" in result.stdout


# --- every service ----------------------------------------------------------------------


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "image" not in service:
            assert "build" in service, f"{name}: neither image nor build"
            continue
        image, tag = _image(service)
        assert image and tag, f"{name}: image {service['image']!r} has no tag"
        assert "/" not in tag, f"{name}: image {service['image']!r} has no tag"
        assert tag != "latest" and "$" not in tag, f"{name}: pin {service['image']!r}"
        assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: {tag!r} is not a version"


def test_every_dependency_is_a_service(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (
                    f"{name} waits for {dependency} to be healthy, which has no healthcheck"
                )


def test_host_ports_bind_to_loopback(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is not on 127.0.0.1"


def test_bind_mounts_exist_in_the_repo(services: dict[str, dict[str, Any]]) -> None:
    # The one mount made by a command, not kept in the repo: `make policy-bundle`'s folder.
    built = SignedBundle.of(StackLayout(root=ROOT / ".data")).folder
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                made = (ROOT / source).resolve() == built.resolve()
                assert made or (ROOT / source).exists(), f"{name} mounts missing {source}"


# --- OPA and Jaeger ---------------------------------------------------------------------


def test_opa_matches_the_local_stack(services: dict[str, dict[str, Any]]) -> None:
    opa = services["opa"]
    image, tag = _image(opa)
    assert image == "openpolicyagent/opa"
    assert f"v{tag}" == _go_mod_version("opa", "github.com/open-policy-agent/opa")

    command = [str(arg) for arg in opa["command"]]
    assert command[:2] == ["run", "--server"]
    assert "--addr=0.0.0.0:8181" in command
    # The signed bundle the cluster stack loads too (orchestrator/devstack/bundle.py).
    assert "--watch" not in command
    bundle = SignedBundle(Path("/bundle"))
    assert command[-4:] == [
        "--bundle", str(bundle.path), "--verification-key", str(bundle.verification_key),
    ]  # fmt: skip
    assert "./.data/policy-bundle:/bundle:ro" in opa["volumes"]
    # Decision logs on and OPA's own spans to Jaeger: the flags the local stack passes.
    expected = opa_settings(otlp_grpc_address="jaeger:4317")
    assert command.count("--set") == len(expected) // 2
    for flag, value in zip(expected[::2], expected[1::2], strict=True):
        assert value in command, f"OPA command lacks {flag} {value}"
        assert command[command.index(value) - 1] == flag, f"OPA command lacks {flag} {value}"


def test_opa_healthcheck_asks_opa_itself(services: dict[str, dict[str, Any]]) -> None:
    test = [str(arg) for arg in services["opa"]["healthcheck"]["test"]]
    # The default image has no shell: exec form, OPA's own binary, failing when undefined.
    assert test[:4] == ["CMD", "/opa", "eval", "--fail"]
    assert "http://127.0.0.1:8181/health" in test[-1]
    assert "status_code == 200" in test[-1]


def test_jaeger_is_the_v2_release_the_local_stack_builds(
    services: dict[str, dict[str, Any]],
) -> None:
    image, tag = _image(services["jaeger"])
    assert image == "jaegertracing/jaeger"
    module = _go_mod_version("jaeger", "github.com/jaegertracing/jaeger")
    assert module in JAEGER_IMAGE_FOR_MODULE, (
        f"tools/servers/jaeger pins {module}: add its v2 image tag to JAEGER_IMAGE_FOR_MODULE"
    )
    assert tag == JAEGER_IMAGE_FOR_MODULE[module]
    ports = {str(port).rsplit(":", 1)[-1] for port in services["jaeger"]["ports"]}
    assert {"16686", "4317", "4318"} <= ports


# --- Temporal ---------------------------------------------------------------------------


def test_temporal_runs_on_postgresql(services: dict[str, dict[str, Any]]) -> None:
    assert _image(services["postgresql"])[0] == "postgres"
    assert _image(services["postgresql"])[1].startswith("16.")
    assert "healthcheck" in services["postgresql"]

    temporal = services["temporal"]
    env = _env(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert _depends_on(temporal) == {
        "postgresql": "service_healthy",
        "temporal-schema": "service_completed_successfully",
    }
    assert "127.0.0.1:7233:7233" in temporal["ports"]
    assert "healthcheck" in temporal
    # Temporal's server, schema tools and CLI come from one release.
    versions = {
        _image(services[name])[1] for name in ("temporal", "temporal-schema", "temporal-init")
    }
    assert len(versions) == 1, f"temporal images disagree: {versions}"


def test_dynamic_config_enables_updates(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["temporal"])
    mount = next(v for v in services["temporal"]["volumes"] if "dynamicconfig" in str(v))
    source, target = str(mount).split(":")[:2]
    assert env["DYNAMIC_CONFIG_FILE_PATH"].startswith(target + "/")
    config = yaml.safe_load(
        (ROOT / source / Path(env["DYNAMIC_CONFIG_FILE_PATH"]).name).read_text()
    )
    # approve / reject are Workflow Updates.
    assert config["frontend.enableUpdateWorkflowExecution"] == [{"value": True}]


def test_search_attributes_match_the_workflows(services: dict[str, dict[str, Any]]) -> None:
    init = services["temporal-init"]
    assert _depends_on(init) == {"temporal": "service_healthy"}
    script, *pairs = [str(arg) for arg in init["command"]]
    assert script == "/deploy/init.sh"
    registered = dict(pair.split("=", 1) for pair in pairs)
    assert registered == SEARCH_ATTRIBUTES
    assert set(registered) == {
        "ApprovalStatus",
        "PolicyDecision",
        "Requester",
        "TraceId",
        "WorkflowDefinition",
    }
    assert set(registered.values()) == {"Keyword"}
    assert (ROOT / "deploy" / "temporal" / "init.sh").is_file()
    assert (ROOT / "deploy" / "temporal" / "setup-schema.sh").is_file()


def test_temporal_ui(services: dict[str, dict[str, Any]]) -> None:
    ui = services["temporal-ui"]
    assert _image(ui)[0] == "temporalio/ui"
    assert "127.0.0.1:8233:8080" in ui["ports"]
    assert _env(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"


# --- the worker -------------------------------------------------------------------------


def test_worker_environment(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    env = _env(worker)
    assert {name: env.get(name) for name in WORKER_ENV} == WORKER_ENV
    # Every orchestrator variable set here is one the code reads (catches typos).
    config = (ROOT / "orchestrator" / "config.py").read_text()
    for name in env:
        if not name.startswith("OTEL_"):
            assert f'"{name}"' in config, (
                f"worker sets {name}, which orchestrator/config.py ignores"
            )
    assert [str(port) for port in worker["expose"]] == [env["ORCH_METRICS_PORT"]]
    assert f":{env['ORCH_METRICS_PORT']}/metrics" in " ".join(worker["healthcheck"]["test"])


def test_worker_waits_for_its_dependencies(services: dict[str, dict[str, Any]]) -> None:
    deps = _depends_on(services["worker"])
    assert deps["temporal"] == "service_healthy"
    assert deps["opa"] == "service_healthy"
    assert deps["temporal-init"] == "service_completed_successfully"
    assert "jaeger" in deps


def test_worker_runs_orchestrator_worker_from_the_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    assert worker["build"]["context"] == "."
    assert (ROOT / worker["build"]["dockerfile"]) == DOCKERFILE
    instructions = _dockerfile_instructions()
    entrypoint = [json.loads(arg) for kind, arg in instructions if kind == "ENTRYPOINT"][-1]
    assert entrypoint + worker["command"] == ["orchestrator", "worker"]


# --- Dockerfile and .dockerignore -------------------------------------------------------


def test_dockerfile_installs_runtime_dependencies_as_non_root() -> None:
    instructions = _dockerfile_instructions()
    assert any(
        kind == "ARG" and arg == "PYTHON_IMAGE=python:3.11-slim" for kind, arg in instructions
    )
    runs = " ".join(arg for kind, arg in instructions if kind == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs), "the image installs the package with pip"
    assert "[dev]" not in runs and "-e " not in runs
    user = [arg for kind, arg in instructions if kind == "USER"][-1]
    assert user.split(":")[0] not in {"root", "0"}
    assert [json.loads(arg) for kind, arg in instructions if kind == "CMD"][-1] == ["worker"]


def test_dockerignore_keeps_local_state_out_and_the_package_in() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".bin", ".data", "tests", ".pytest_cache", ".mypy_cache"} <= patterns
    copied = {"pyproject.toml", "README.md", "orchestrator", "telemetry"}
    assert not copied & patterns, (
        f".dockerignore drops what the Dockerfile copies: {copied & patterns}"
    )
