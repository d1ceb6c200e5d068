data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  emulated   = var.aws_endpoint_url != null
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  data_bucket  = "${var.name_prefix}-data"
  model_bucket = "${var.name_prefix}-models"
  site_bucket  = "${var.name_prefix}-site"
  logs_bucket  = "${var.name_prefix}-logs"

  # Regional names carry the prefix too, so two deployments in one account and region coexist.
  model_package_group = "${var.name_prefix}-${var.model_package_group}"
  pipeline_name       = "${var.name_prefix}-${var.pipeline_name}"

  # Pipeline outputs; the step code the definition refers to lives beside them and never expires.
  pipeline_prefix           = "pipelines/${local.pipeline_name}"
  pipeline_execution_prefix = "${local.pipeline_prefix}/executions/"

  sagemaker_role_name = "${var.name_prefix}-sagemaker-execution"
  api_function_name   = "${var.name_prefix}-get-models"
  # The name is part of the feedback policy template (its log group).
  feedback_function_name = "${var.name_prefix}-feedback"

  create_pipeline = var.pipeline_definition_file != null
  lambda_zip      = coalesce(var.lambda_zip, "${path.module}/../build/lambda/get_models.zip")
  feedback_lambda_zip = coalesce(
    var.feedback_lambda_zip, "${path.module}/../build/lambda/feedback.zip"
  )

  site_origin = (
    var.site_origin != "" ? var.site_origin :
    var.enable_cloudfront ? "https://${aws_cloudfront_distribution.site[0].domain_name}" : ""
  )

  github_enabled           = var.github_repository != ""
  github_oidc_provider_arn = var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : one(aws_iam_openid_connect_provider.github[*].arn)

  # Values every policy template in iam/ may use; templatefile() fails on any other name.
  # SageMaker ARNs carry resource names in lower case.
  policy_vars = {
    partition                    = local.partition
    region                       = var.region
    account_id                   = local.account_id
    name_prefix                  = var.name_prefix
    data_bucket                  = local.data_bucket
    model_bucket                 = local.model_bucket
    site_bucket                  = local.site_bucket
    model_package_group          = local.model_package_group
    model_package_group_arn_name = lower(local.model_package_group)
    pipeline_arn_name            = lower(local.pipeline_name)
    pipeline_prefix              = local.pipeline_prefix
    raw_prefix                   = var.raw_prefix
    sagemaker_role               = local.sagemaker_role_name
    api_function                 = local.api_function_name
    feedback_function            = local.feedback_function_name
    state_bucket                 = var.terraform_state_bucket
  }
}
