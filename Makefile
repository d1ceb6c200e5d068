# aws-mlops-playground: every command installs what it needs first (uv through pip when it is
# missing, then `uv sync --frozen`), so a new machine runs nothing else before these.
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

.PHONY: help up down test lint fmt clean bench setup uv python-test python-lint

## Show the commands.
help:
	@awk '/^## /{doc=substr($$0,4)} /^[a-zA-Z0-9_-]+:/{if(doc){split($$1,t,":");printf "  make %-22s %s\n",t[1],doc;doc=""}}' $(MAKEFILE_LIST)

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; python3 -m pip install --quiet uv; }

## Install the Python workspace (locked) and every area's tools.
setup: uv
	# Step scripts start fresh Python processes; compiled bytecode saves seconds on each.
	$(UV) sync --frozen --compile-bytecode
	$(if $(SETUP_TARGETS),@$(MAKE) $(SETUP_TARGETS))

## Start the local stack (emulator, data, pipeline, API, site) and print where everything is.
up: setup
	$(UV) run playground up

## Stop every local service (state stays on disk).
down: uv
	$(UV) run playground down

## Set up, then run every test (Python, web, Terraform).
test: setup
	@$(MAKE) python-test $(TEST_TARGETS)

python-test:
	$(UV) run pytest

## Static checks: ruff, ruff format, mypy, and every area's linters.
lint: setup
	@$(MAKE) python-lint $(LINT_TARGETS)

python-lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

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
