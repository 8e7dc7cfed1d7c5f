# syntax=docker/dockerfile:1
# The worker image (compose.yaml builds it as the `worker` service):
#
#   docker build -t policy-orchestrator .
#   docker run --rm policy-orchestrator --help        # ENTRYPOINT is `orchestrator`
#
# Runtime dependencies only ([project].dependencies of pyproject.toml, no dev extra), in a
# virtualenv built in a first stage and copied into a clean one; runs as a non-root user.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/orchestrator
WORKDIR /src
# Exactly what the wheel is built from (pyproject's readme field needs README.md).
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY telemetry ./telemetry
RUN /opt/orchestrator/bin/pip install .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/orchestrator/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORCH_AGENT_OUTBOX=/var/lib/orchestrator/outbox
RUN useradd --system --uid 10001 --user-group --create-home \
        --home-dir /var/lib/orchestrator --shell /usr/sbin/nologin orchestrator
COPY --from=build /opt/orchestrator /opt/orchestrator
USER 10001:10001
WORKDIR /var/lib/orchestrator
# The worker's Prometheus endpoint (ORCH_METRICS_PORT).
EXPOSE 9464
ENTRYPOINT ["orchestrator"]
CMD ["worker"]
