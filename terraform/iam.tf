# Roles and their permissions. The permission policies are the JSON templates in iam/ (one
# place, linted by parliament); the trust policies say which service or workflow may assume
# each role.

# aws:SourceAccount only where the service is documented to send it when it assumes the role
# (SageMaker jobs and pipelines, EventBridge targets): a condition on a key the service does
# not send fails closed, so Lambda's execution roles and the managed MLflow server's role
# trust the service principal alone.
data "aws_iam_policy_document" "assumed_by" {
  for_each = {
    sagemaker = { service = "sagemaker.amazonaws.com", source_account = true }
    lambda    = { service = "lambda.amazonaws.com", source_account = false }
    events    = { service = "events.amazonaws.com", source_account = true }
    mlflow    = { service = "sagemaker.amazonaws.com", source_account = false }
  }

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value.service]
    }
    dynamic "condition" {
      for_each = each.value.source_account ? [local.account_id] : []
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "sagemaker_execution" {
  name               = local.sagemaker_role_name
  description        = "Runs the ${local.pipeline_name} pipeline's jobs and registers models in ${local.model_package_group}."
  assume_role_policy = data.aws_iam_policy_document.assumed_by["sagemaker"].json
}

resource "aws_iam_role_policy" "sagemaker_execution" {
  name   = "pipeline-jobs"
  role   = aws_iam_role.sagemaker_execution.id
  policy = templatefile("${path.module}/../iam/sagemaker-execution.json", local.policy_vars)
}

resource "aws_iam_role" "api" {
  name               = "${var.name_prefix}-get-models"
  description        = "The get_models API: reads approved versions of ${local.model_package_group} and presigns their downloads."
  assume_role_policy = data.aws_iam_policy_document.assumed_by["lambda"].json
}

resource "aws_iam_role_policy" "api" {
  name   = "get-models"
  role   = aws_iam_role.api.id
  policy = templatefile("${path.module}/../iam/get-models-lambda.json", local.policy_vars)
}

resource "aws_iam_role" "training_trigger" {
  name               = "${var.name_prefix}-training-trigger"
  description        = "EventBridge starts the ${local.pipeline_name} pipeline on new raw data and on schedule."
  assume_role_policy = data.aws_iam_policy_document.assumed_by["events"].json
}

resource "aws_iam_role_policy" "training_trigger" {
  name   = "start-pipeline"
  role   = aws_iam_role.training_trigger.id
  policy = templatefile("${path.module}/../iam/eventbridge-start-pipeline.json", local.policy_vars)
}
