# The web app (web/): Vite + React + TypeScript + onnxruntime-web. Included by the root Makefile.
# npm ci installs exactly package-lock.json; the browser is the machine's chromium (never
# downloaded): CHROMIUM_PATH, else the first of chromium, chromium-browser, google-chrome on PATH.

WEB := web
ifeq ($(origin CHROMIUM_PATH),undefined)
CHROMIUM_PATH := $(firstword $(foreach name,chromium chromium-browser google-chrome google-chrome-stable,$(shell command -v $(name) 2>/dev/null)))
endif
ifneq ($(CHROMIUM_PATH),)
export CHROMIUM_PATH
endif

SETUP_TARGETS += web-build
TEST_TARGETS += web-test
LINT_TARGETS += web-lint

.PHONY: web-install web-build web-test web-lint web-e2e web-dev web-api-types web-fixture web-model

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

## Install the web app's npm packages (npm ci, from package-lock.json).
web-install: $(WEB)/node_modules/.package-lock.json

## Build the static site into web/dist (wasm runtime included, no CDN).
web-build: web-install
	cd $(WEB) && npm run build

## vitest: preprocessing parity, checksum, API client vs contract, model storage.
web-test: web-install
	cd $(WEB) && npm test

## eslint + TypeScript strict type check.
web-lint: web-install
	cd $(WEB) && npm run lint

## The browser end-to-end tests alone (chromium, and firefox and webkit in test_engines.py).
web-e2e:
	@+$(PREREQUISITES) web-e2e python uv node chromium firefox webkit
	@$(MAKE) web-build
	$(UV) run pytest tests/e2e/web

## Vite dev server (set VITE_API_URL, e.g. to a running `playground serve api`).
web-dev: web-install
	cd $(WEB) && npm run dev

## Regenerate web/src/api/schema.d.ts from contracts/openapi.yaml.
web-api-types: web-install
	cd $(WEB) && npm run gen:api

## Re-export contracts/fixtures/preprocessing.json from the Python implementation.
web-fixture:
	$(UV) run python -m pipelines.mnist.export_preprocessing_fixture

## Retrain the model the web e2e test and benchmark serve (tests/fixtures/web/).
web-model:
	$(UV) run python tests/fixtures/web/make_model.py
