# The two commands a fresh clone needs are `make demo` and `make test`; every
# other target is a step of theirs or a convenience. Set-up is automatic.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PY := $(BIN)/python
ORCH := $(BIN)/orchestrator
OPA := .bin/opa
DEVSTACK := $(PY) -m orchestrator.devstack
# Point the orchestrator's own processes at the local stack (ports follow ORCH_*_PORT).
CLIENT_ENV = eval "$$($(DEVSTACK) env)" &&

.PHONY: help setup servers cluster-servers browser up down status logs run-server \
	cluster-up cluster-down cluster-status cluster-logs cluster-env policy-bundle run-worker worker demo test \
	lint fmt typecheck policy-check pytest faults bench bench-cluster bench-smoke bench-inbox schedule-workflow console api sample-workflow approve-workflow \
	reject-workflow policy-denied-workflow clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

## --- set-up -------------------------------------------------------------------
setup: $(STAMP) servers cluster-servers browser ## create .venv, install the package + dev tools, build OPA, Jaeger and the Temporal server, install PostgreSQL and Chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) is missing: install Python >= 3.11" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

servers: ## build OPA and Jaeger from the Go module proxy (cached; instant when built)
	@tools/servers/build.sh >/dev/null

cluster-servers: ## build the Temporal server + SQL tool (cached), install PostgreSQL (when missing)
	@tools/servers/build-temporal.sh >/dev/null
	@tools/postgres/install.sh >/dev/null

browser: ## Debian's chromium + chromium-driver for the console's browser tests (when missing)
	@tools/browser/install.sh

## --- the local stack ----------------------------------------------------------
up: setup ## start Temporal, OPA and Jaeger (and a codec server when encrypting); no worker
	@$(DEVSTACK) up

down: ## stop the local stack, leaving no process behind
	@test -x $(PY) && $(DEVSTACK) down || true

status: ## show each service, healthy or not, with its URL, and the workers polling
	@$(DEVSTACK) status

logs: ## print the last lines of each service's log (LINES=40)
	@$(DEVSTACK) logs --lines $(or $(LINES),40)

run-server: up ## the old demo's name for `make up`

## --- the cluster stack: Temporal's four services on PostgreSQL ---------------------
# The same product against it: `eval "$$(make -s cluster-env)"` points the CLI, worker and
# API at it (the frontend listens where the dev server does, so stop one stack first).
cluster-up: setup ## start PostgreSQL, Temporal's frontend/history/matching/worker, OPA and Jaeger
	@$(DEVSTACK) up --stack cluster

cluster-down: ## stop the cluster stack, leaving no process behind
	@test -x $(PY) && $(DEVSTACK) down --stack cluster || true

cluster-status: ## each cluster service, healthy or not, and the workers polling
	@$(DEVSTACK) status --stack cluster

cluster-logs: ## the last lines of each cluster service's log (LINES=40)
	@$(DEVSTACK) logs --stack cluster --lines $(or $(LINES),40)

policy-bundle: setup ## build policies/ into a signed bundle (.data/policy-bundle/), as compose.yaml loads it
	@$(PY) -m orchestrator.devstack.bundle

cluster-env: ## the variables that point the orchestrator at the cluster stack
	@$(DEVSTACK) env --stack cluster

# Not `worker: up`: up would say "no worker is polling", right before this one starts.
worker: setup ## run a worker in the foreground against the local stack (Ctrl-C stops it)
	@$(DEVSTACK) up --starting-worker
	@$(CLIENT_ENV) $(ORCH) worker

run-worker: worker ## the old demo's name for `make worker`

## --- the demo -----------------------------------------------------------------
demo: setup ## the story end to end on the local stack, with a background worker (see README)
	@$(DEVSTACK) up --starting-worker
	@$(CLIENT_ENV) $(PY) -m orchestrator.devstack.demo

## --- tests --------------------------------------------------------------------
test: setup lint typecheck policy-check pytest ## every check and test, as CI runs them

lint: $(STAMP) ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP) ## format Python and Rego in place
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(OPA) fmt -w policies

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

policy-check: servers ## opa fmt, opa check --strict, opa test --coverage (100% required)
	@$(PY) -m orchestrator.devstack.policycheck

pytest: setup ## the Python test suite (unit + integration against a real stack)
	$(BIN)/pytest $(PYTEST_ARGS)

faults: setup ## the fault suite at full size (200 workflows through worker kills)
	ORCH_FAULT_WORKFLOWS=200 $(BIN)/pytest tests/faults -rA $(PYTEST_ARGS)

schedule-workflow: up ## schedule the usage report every hour (EVERY=15m, ID=...); needs a worker
	@$(CLIENT_ENV) $(ORCH) schedule create --id $(or $(ID),sched-usage-report) \
		--task "Generate the weekly usage report" --requester scheduler \
		--interval $(or $(EVERY),1h) --note "created by make schedule-workflow"

console: up ## the operator console (and HTTP API) in the background; prints its URL and sign-in
	@$(DEVSTACK) console

api: up ## serve the HTTP API on 127.0.0.1:8080 (tokens: deploy/api.example.yaml or ORCH_API_TOKENS)
	@$(CLIENT_ENV) ORCH_API_CONFIG=$${ORCH_API_CONFIG:-deploy/api.example.yaml} $(ORCH) api

## --- benchmarks (never part of `make test`) -----------------------------------
bench: setup ## governance and tracing cost vs bare Temporal; writes bench/results/
	$(PY) -m bench.run

bench-cluster: setup ## governed throughput by worker processes: cluster stack vs dev server
	$(PY) -m bench.cluster

bench-smoke: setup ## the benchmark with tiny counts, to check the harness
	$(PY) -m bench.run --smoke

bench-inbox: setup ## the console inbox's server time with 500 approvals waiting (PENDING=500)
	$(PY) -m bench.inbox --pending $${PENDING:-500}

## --- the old demo's shortcuts -------------------------------------------------
sample-workflow: up ## start a risky governed task that waits for approval
	@$(CLIENT_ENV) $(ORCH) start --task "Deploy the billing service to production" \
		--requester alice --param environment=production

approve-workflow: ## approve a waiting workflow: make approve-workflow ID=... [AS=bob]
	@test -n "$(ID)" || { echo "usage: make approve-workflow ID=<workflow id> [AS=bob]" >&2; exit 2; }
	@$(CLIENT_ENV) $(ORCH) approve $(ID) --as $(or $(AS),bob) --comment "approved via make"

reject-workflow: ## reject a waiting workflow: make reject-workflow ID=... [AS=bob]
	@test -n "$(ID)" || { echo "usage: make reject-workflow ID=<workflow id> [AS=bob]" >&2; exit 2; }
	@$(CLIENT_ENV) $(ORCH) reject $(ID) --as $(or $(AS),bob) --comment "rejected via make"

policy-denied-workflow: up ## start a task the policy denies
	@$(CLIENT_ENV) $(ORCH) start --task "forbidden: drop the customer database" \
		--requester alice --wait

clean: down cluster-down ## remove the virtualenv, both stacks' data and the .bin links
	rm -rf $(VENV) .data .bin
