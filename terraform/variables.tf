variable "region" {
  description = "AWS region for every regional resource."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-\\d$", var.region))
    error_message = "The region must look like us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name. Bucket names are global: pick one unique to your account, e.g. mnist-playground-<account id>."
  type        = string
  default     = "mnist-playground"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-40 lower-case letters, digits or '-', starting and ending with a letter or digit."
  }
}

variable "site_origin" {
  description = "Origin (scheme://host[:port]) of the web app, the only origin the API's CORS allows. Empty means the CloudFront distribution's origin."
  type        = string
  default     = ""

  validation {
    condition     = var.site_origin == "" || can(regex("^https?://[a-zA-Z0-9.-]+(:[0-9]+)?$", var.site_origin))
    error_message = "The site origin must look like https://example.com (no path, no trailing slash)."
  }
}

variable "model_package_group" {
  description = "SageMaker model package group of the MNIST model versions, after the name prefix: the group is <name_prefix>-<this> (PLAYGROUND_MODEL_PACKAGE_GROUP, from `make tf-env`)."
  type        = string
  default     = "mnist"

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.model_package_group)) && length("${var.name_prefix}-${var.model_package_group}") <= 63
    error_message = "The model package group must be letters, digits and '-', at most 63 with the name prefix and '-'."
  }
}

variable "pipeline_name" {
  description = "SageMaker pipeline name after the name prefix: the pipeline is <name_prefix>-<this> (PLAYGROUND_PIPELINE_NAME, from `make tf-env`)."
  type        = string
  default     = "mnist-training"

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$", var.pipeline_name))
    error_message = "The pipeline name must be letters, digits and '-'."
  }
}

variable "raw_prefix" {
  description = "Key prefix of the raw MNIST IDX files in the data bucket (PLAYGROUND_RAW_PREFIX); new objects here start the pipeline."
  type        = string
  default     = "raw/mnist"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()-]+(/[a-zA-Z0-9!_.*'()-]+)*$", var.raw_prefix))
    error_message = "The raw prefix must be an S3 key prefix without leading or trailing '/'."
  }
}

variable "pipeline_definition_file" {
  description = "Path of the pipeline definition JSON written by `playground pipeline definition --output FILE`. Null on the first apply, before the execution role and data bucket that the definition refers to exist; the pipeline and its triggers are created once it is set."
  type        = string
  default     = null

  validation {
    condition     = var.pipeline_definition_file == null || can(jsondecode(file(var.pipeline_definition_file)))
    error_message = "The pipeline definition file must exist and hold JSON."
  }
}

variable "training_schedule" {
  description = "EventBridge schedule expression of the periodic training run."
  type        = string
  default     = "cron(0 3 ? * MON *)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.training_schedule))
    error_message = "The schedule must be an EventBridge rate(...) or cron(...) expression."
  }
}

variable "pipeline_artifact_retention_days" {
  description = "Days after which pipeline execution outputs (under pipelines/<name>/executions/ in the data bucket) expire. Keep it above the pipeline's 30-day step cache so a cached step never points at deleted outputs."
  type        = number
  default     = 45

  validation {
    condition     = var.pipeline_artifact_retention_days > 30
    error_message = "The retention must exceed the pipeline's 30-day step cache."
  }
}

variable "step_code_retention_days" {
  description = "Days after its last upload that step code (under pipelines/<name>/code/ in the data bucket) expires. Every definition build (make tf-apply, CI's deploy) uploads the deployed code again, so only a pipeline not deployed for this long loses its code; keep it above the pipeline's 30-day step cache."
  type        = number
  default     = 180

  validation {
    condition     = var.step_code_retention_days > 30
    error_message = "The retention must exceed the pipeline's 30-day step cache."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept in the versioned buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1
    error_message = "Keep old versions at least one day."
  }
}

variable "lambda_zip" {
  description = "Path of the get_models Lambda package. Null: build/lambda/get_models.zip in the repository, which `make lambda` builds."
  type        = string
  default     = null

  validation {
    condition     = fileexists(coalesce(var.lambda_zip, "${path.module}/../build/lambda/get_models.zip"))
    error_message = "The Lambda package is missing: run `make lambda` first (or set lambda_zip)."
  }
}

variable "download_url_expiry_seconds" {
  description = "Lifetime of the presigned model download URLs the API returns (PLAYGROUND_DOWNLOAD_URL_EXPIRY_SECONDS)."
  type        = number
  default     = 300

  validation {
    condition     = var.download_url_expiry_seconds >= 1 && var.download_url_expiry_seconds <= 900
    error_message = "The download URL expiry must be 1-900 seconds."
  }
}

variable "api_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the public API. New accounts with a concurrency quota of 10 cannot reserve any: set -1 there (no cap)."
  type        = number
  default     = 5
}

variable "feedback_lambda_zip" {
  description = "Path of the feedback Lambda package. Null: build/lambda/feedback.zip in the repository, which `make lambda` builds."
  type        = string
  default     = null

  validation {
    condition     = fileexists(coalesce(var.feedback_lambda_zip, "${path.module}/../build/lambda/feedback.zip"))
    error_message = "The feedback Lambda package is missing: run `make lambda` first (or set feedback_lambda_zip)."
  }
}

variable "feedback_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the public feedback API; requests beyond it get 429 from AWS, unbilled. -1: no cap (accounts whose concurrency quota is still 10)."
  type        = number
  default     = 2

  validation {
    condition     = var.feedback_reserved_concurrency == -1 || (var.feedback_reserved_concurrency >= 0 && var.feedback_reserved_concurrency <= 20)
    error_message = "The feedback API's reserved concurrency must be -1 (no cap) or 0-20: it bounds what a public URL can cost."
  }
}

variable "feedback_pending_retention_days" {
  description = "Days a correction may wait for review under feedback/pending/ before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.feedback_pending_retention_days >= 7
    error_message = "Give reviewers at least 7 days."
  }
}

variable "feedback_memory_mb" {
  description = "Memory of the feedback function (MB); with the timeout, the price bound of one request."
  type        = number
  default     = 128

  validation {
    condition     = var.feedback_memory_mb >= 128 && var.feedback_memory_mb <= 512
    error_message = "The feedback function needs 128-512 MB."
  }
}

variable "feedback_timeout_seconds" {
  description = "Timeout of the feedback function (seconds): one registry read and one S3 write."
  type        = number
  default     = 5

  validation {
    condition     = var.feedback_timeout_seconds >= 3 && var.feedback_timeout_seconds <= 15
    error_message = "The feedback function's timeout must be 3-15 seconds."
  }
}

variable "log_retention_days" {
  description = "Retention of the API's CloudWatch logs."
  type        = number
  default     = 365
}

variable "enable_cloudfront" {
  description = "Create the CloudFront distribution (with origin access control) in front of the site bucket. The local emulator test sets false: see docs/aws.md."
  type        = bool
  default     = true
}

variable "deny_insecure_transport" {
  description = "Bucket policies that deny plain-HTTP requests to the data, model and site buckets. The local emulator test sets false: the emulator speaks only HTTP and treats a policy statement whose condition does not match as a deny (docs/aws.md). The logs bucket always has it."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose workflows may assume the deploy role through OIDC. Empty: no GitHub roles."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "The GitHub repository must look like owner/name."
  }
}

variable "github_repository_owner_id" {
  description = "Numeric id of the GitHub repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`; in a workflow, github.repository_owner_id). Part of the immutable OIDC subject."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository_owner_id == "" || can(regex("^[0-9]+$", var.github_repository_owner_id))
    error_message = "The owner id is a number (gh api repos/OWNER/NAME --jq .owner.id)."
  }
}

variable "github_repository_id" {
  description = "Numeric id of the GitHub repository (`gh api repos/OWNER/NAME --jq .id`; in a workflow, github.repository_id). Part of the immutable OIDC subject."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository_id == "" || can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "The repository id is a number (gh api repos/OWNER/NAME --jq .id)."
  }
}

variable "github_legacy_subjects" {
  description = "Also trust the name-only OIDC subjects (repo:owner/name:...) that repositories created before 2026-07-15 still receive unless they opted into immutable subjects. Set false once your tokens carry ids: a name can be recycled, an id cannot."
  type        = bool
  default     = true
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing GitHub OIDC provider (one per account). Empty: this configuration creates it."
  type        = string
  default     = ""
}

variable "terraform_state_bucket" {
  description = "Bucket of the Terraform state, which the GitHub roles read (plan) and write (apply). Empty when there are no GitHub roles."
  type        = string
  default     = ""
}

variable "destroy_bucket_contents" {
  description = "Let a destroy delete the buckets with everything in them (every object version and delete marker). `make tf-destroy` sets it for the destroy only; leave it false for applies."
  type        = bool
  default     = false
}

variable "aws_endpoint_url" {
  description = "Only for the local AWS emulator: one endpoint URL for every service. Null for real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "The endpoint must be an http(s) URL like http://127.0.0.1:4566."
  }
}
