# aws-mlops-playground: every command installs what it needs first (uv through pip when it is
# missing, then `uv sync --frozen`), so a new machine runs nothing else before these. What it
# cannot install (Python 3.11, Node, terraform, chromium, firefox-esr, WebKitGTK's driver) is checked first by
# mk/prerequisites.sh, which names each missing tool and how to get it.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_FROZEN := 1

# Areas add their own steps to these lists in mk/*.mk.
SETUP_TARGETS :=
TEST_TARGETS :=
LINT_TARGETS :=
BENCH_TARGETS :=

PREREQUISITES := mk/prerequisites.sh

.PHONY: help up down test check lint fmt clean bench setup uv python-test python-lint \
	unit-test integration-test e2e-test prerequisites

# A target's line in `make help`: a `## ` comment line just above it, or ` ## ` after it.
## Show the commands.
help:
	@awk '/^## /{doc=substr($$0,4);next} /^[a-zA-Z0-9_-]+:([^=]|$$)/{split($$0,t,":");d=doc;i=index($$0," ## ");if(i)d=substr($$0,i+4);if(d!="")printf "  make %-22s %s\n",t[1],d;doc="";next} {doc=""}' $(MAKEFILE_LIST)

## Check for the tools `make test` needs and cannot install (TOOLS="python node" for fewer).
prerequisites:
	@+$(PREREQUISITES) test $(or $(TOOLS),python uv node terraform chromium firefox webkit)

## Install uv with pip when it is missing.
uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; python3 -m pip install --quiet uv; }

## Install the Python workspace (locked) and every area's tools.
setup: uv
	# Step scripts start fresh Python processes; compiled bytecode saves seconds on each.
	$(UV) sync --frozen --compile-bytecode
	$(if $(SETUP_TARGETS),@$(MAKE) $(SETUP_TARGETS))

## Start the local stack (emulator, data, pipeline, API, site) and print where everything is.
up:
	@+$(PREREQUISITES) up python uv node
	@$(MAKE) setup
	$(UV) run playground up

## Stop every local service (state stays on disk).
down: uv
	$(UV) run playground down

## Set up, then run every test: all tiers, web, Terraform, linters (what CI runs).
test:
	@+$(PREREQUISITES) test python uv node terraform chromium firefox webkit
	@$(MAKE) setup
	@$(MAKE) --keep-going python-test $(TEST_TARGETS)

## Lint (ruff, format, mypy, import contracts) and the unit tiers (Python tests/unit, web vitest; the site built first, as a unit test reads it): about a minute.
check:
	@+$(PREREQUISITES) check python uv node
	@$(MAKE) uv web-build
	@$(MAKE) python-lint unit-test web-test

## Every Python test tier, each with its time: unit, then integration and e2e side by side.
python-test:
	@bash mk/test-tiers.sh "$(UV)"

## Python unit tier: no emulator, no network (tests/unit; see tests/README.md).
unit-test: uv
	$(UV) run pytest tests/unit -q

## Python integration tier: the real emulator, the gateway, the runner on a tiny slice.
integration-test: uv
	$(UV) run pytest tests/integration

## Python end-to-end tier: browser, full pipeline, Terraform against the emulator.
e2e-test: uv
	$(UV) run pytest tests/e2e

## Static checks: ruff, ruff format, mypy, and every area's linters (checkov, eslint...).
lint: setup
	@$(MAKE) python-lint $(LINT_TARGETS)

## ruff, ruff format --check, mypy and the import contracts (no circle; pyproject's importlinter).
python-lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports --no-cache

## Format the Python code.
fmt: uv
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

## Print the benchmark figures (never asserted).
bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(UV) run python "$$script"; done
	$(if $(BENCH_TARGETS),@$(MAKE) $(BENCH_TARGETS))

## Remove build output, caches and the local stack's state (stops it first).
clean:
	-$(UV) run playground down 2>/dev/null
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .playground web/dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

-include mk/*.mk
