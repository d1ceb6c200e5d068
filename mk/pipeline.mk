# The training pipeline: its SageMaker definition and the local run (included by the root Makefile).

PIPELINE_DEFINITION ?= build/pipeline-definition.json
# The commit the definition names as GitCommit's default; empty: this checkout's (with -dirty
# for uncommitted changes). CI passes the commit it deploys.
GIT_COMMIT ?=

.PHONY: pipeline-run pipeline-definition pipeline-upsert pipeline-test pipeline-bench step-requirements

## Run the pipeline locally against the emulator (a cached run is near-instant).
pipeline-run:
	uv run playground pipeline run

## Write the pipeline definition JSON (for Terraform / CI) to $(PIPELINE_DEFINITION).
pipeline-definition:
	uv run playground pipeline definition --output $(PIPELINE_DEFINITION) $(if $(GIT_COMMIT),--git-commit $(GIT_COMMIT))

## Create or update the pipeline in SageMaker (the emulator locally).
pipeline-upsert:
	uv run playground pipeline upsert $(if $(GIT_COMMIT),--git-commit $(GIT_COMMIT))

## The definition, runner and CLI tests.
pipeline-test:
	uv run pytest tests/integration/pipelines/mnist/test_pipeline.py tests/unit/localaws/local_runner tests/integration/localaws/local_runner tests/integration/playground/commands/test_pipeline.py

## Full local run on the offline sample: time per step, overhead, accuracy, model sizes.
pipeline-bench:
	uv run python bench/pipeline_run.py

# The training image's Python (pipeline.PY_VERSION); a test checks the two agree.
STEP_PYTHON ?= 3.13
STEP_REQUIREMENTS := packages/pipelines/src/pipelines/mnist/code/requirements.txt

## Pin the step scripts' packages for the training image's Python, at uv.lock's versions
## (after a `uv lock` that changes them; tests/unit/pipelines/mnist/test_libraries.py fails
## until this is run).
step-requirements:
	@mkdir -p build
	uv export --frozen --no-hashes --no-emit-project --no-emit-workspace --no-header --no-annotate --all-packages > build/uv-lock-constraints.txt
	uv pip compile packages/pipelines/step-requirements.in -c build/uv-lock-constraints.txt --python-version $(STEP_PYTHON) --python-platform x86_64-manylinux_2_28 --no-annotate --custom-compile-command "make step-requirements" -o $(STEP_REQUIREMENTS)
