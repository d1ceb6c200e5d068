# Experiment tracking: a SageMaker managed MLflow tracking server, off by default because it
# is billed for every hour it exists (docs/aws.md, "Experiment tracking"). The pipeline's
# evaluate step logs to it when PLAYGROUND_MLFLOW_TRACKING_URI holds its ARN (output
# mlflow_tracking_server_arn); run artifacts go to s3://<data bucket>/mlflow.

variable "mlflow_tracking_server" {
  description = "Create a SageMaker managed MLflow tracking server (billed per hour while it exists; see docs/aws.md). false: the pipeline logs nothing."
  type        = bool
  default     = false
}

variable "mlflow_tracking_server_size" {
  description = "Size of the managed MLflow tracking server: Small, Medium or Large."
  type        = string
  default     = "Small"

  validation {
    condition     = contains(["Small", "Medium", "Large"], var.mlflow_tracking_server_size)
    error_message = "mlflow_tracking_server_size must be Small, Medium or Large."
  }
}

resource "aws_iam_role" "mlflow" {
  count              = var.mlflow_tracking_server ? 1 : 0
  name               = "${var.name_prefix}-mlflow"
  description        = "The managed MLflow tracking server keeps run artifacts in the data bucket."
  assume_role_policy = data.aws_iam_policy_document.assumed_by["mlflow"].json
}

resource "aws_iam_role_policy" "mlflow" {
  count  = var.mlflow_tracking_server ? 1 : 0
  name   = "run-artifacts"
  role   = aws_iam_role.mlflow[0].id
  policy = templatefile("${path.module}/../iam/mlflow-tracking-server.json", local.policy_vars)
}

resource "aws_iam_role_policy" "sagemaker_execution_mlflow" {
  count  = var.mlflow_tracking_server ? 1 : 0
  name   = "log-to-mlflow"
  role   = aws_iam_role.sagemaker_execution.id
  policy = templatefile("${path.module}/../iam/sagemaker-execution-mlflow.json", local.policy_vars)
}

resource "aws_sagemaker_mlflow_tracking_server" "this" {
  count                = var.mlflow_tracking_server ? 1 : 0
  tracking_server_name = var.name_prefix
  tracking_server_size = var.mlflow_tracking_server_size
  role_arn             = aws_iam_role.mlflow[0].arn
  artifact_store_uri   = "s3://${local.data_bucket}/mlflow"
}

output "mlflow_tracking_server_arn" {
  description = "Set PLAYGROUND_MLFLOW_TRACKING_URI to this (empty: no tracking server)."
  value       = one(aws_sagemaker_mlflow_tracking_server.this[*].arn)
}
