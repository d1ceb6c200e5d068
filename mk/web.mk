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

## Build the static site into web/dist (wasm runtime included, no CDN); nothing when it is current.
web-build: $(WEB)/dist/index.html

# What a build reads: the app's files and the three variables the build bakes in
# (vite.config.ts's SITE_BUILD, src/config.ts's VITE_API_URL and VITE_FEEDBACK_URL). An up-to-date
# web/dist is left alone, so `make web-build` during a test run (the AWS rehearsal runs the
# runbook's) never empties the folder other tests are reading. `make -B web-build` forces one.
WEB_INPUTS := $(shell find $(WEB)/src $(WEB)/sw $(WEB)/public -type f 2>/dev/null) \
	$(wildcard $(WEB)/*.json $(WEB)/*.ts $(WEB)/index.html)
WEB_BUILD_VARIABLES := $(WEB)/node_modules/.build-variables

$(WEB)/dist/index.html: $(WEB_INPUTS) $(WEB_BUILD_VARIABLES) $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm run build
	@touch $@

# Rewritten only when a variable changed, so its time says when the build's input last changed.
$(WEB_BUILD_VARIABLES): .FORCE | web-install
	@printf 'SITE_BUILD=%s\nVITE_API_URL=%s\nVITE_FEEDBACK_URL=%s\n' \
		'$(SITE_BUILD)' '$(VITE_API_URL)' '$(VITE_FEEDBACK_URL)' >$@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

.PHONY: .FORCE
.FORCE:

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
