output "api_url" {
  description = "URL of the get_models API (Lambda Function URL)."
  value       = aws_lambda_function_url.api.function_url
}

output "feedback_url" {
  description = "URL of the feedback API (its own Lambda Function URL); the site posts to <feedback_url>/feedback."
  value       = aws_lambda_function_url.feedback.function_url
}

output "site_url" {
  description = "URL of the web app (null without CloudFront)."
  value       = var.enable_cloudfront ? "https://${aws_cloudfront_distribution.site[0].domain_name}" : null
}

output "site_distribution_id" {
  description = "CloudFront distribution to invalidate after a site deployment (null without CloudFront)."
  value       = one(aws_cloudfront_distribution.site[*].id)
}

output "data_bucket" {
  description = "Bucket of the raw data and the pipeline artifacts."
  value       = aws_s3_bucket.this["data"].id
}

output "model_bucket" {
  description = "Bucket of the model files and evaluation reports."
  value       = aws_s3_bucket.this["models"].id
}

output "site_bucket" {
  description = "Bucket of the built web app."
  value       = aws_s3_bucket.this["site"].id
}

output "sagemaker_execution_role_arn" {
  description = "Role the pipeline's jobs run as."
  value       = aws_iam_role.sagemaker_execution.arn
}

output "pipeline_arn" {
  description = "ARN of the training pipeline (null until pipeline_definition_file is set)."
  value       = one(aws_sagemaker_pipeline.training[*].arn)
}

output "github_role_arns" {
  description = "Roles the GitHub workflows assume: deploy (main) and plan (pull requests)."
  value       = { for key, role in aws_iam_role.github : key => role.arn }
}

output "playground_environment" {
  description = "Settings for the `playground` CLI against this deployment (export each as an environment variable)."
  # The tracking server's ARN when there is one, so the definition `make pipeline-definition`
  # writes logs to it (MlflowTrackingUri's default) on every apply, CI's included.
  value = merge({
    PLAYGROUND_TARGET              = "aws"
    PLAYGROUND_REGION              = var.region
    PLAYGROUND_DATA_BUCKET         = aws_s3_bucket.this["data"].id
    PLAYGROUND_MODEL_BUCKET        = aws_s3_bucket.this["models"].id
    PLAYGROUND_SITE_BUCKET         = aws_s3_bucket.this["site"].id
    PLAYGROUND_MODEL_PACKAGE_GROUP = aws_sagemaker_model_package_group.models.model_package_group_name
    PLAYGROUND_PIPELINE_NAME       = local.pipeline_name
    PLAYGROUND_SAGEMAKER_ROLE_NAME = aws_iam_role.sagemaker_execution.name
    PLAYGROUND_RAW_PREFIX          = var.raw_prefix
    }, var.mlflow_tracking_server ? {
    PLAYGROUND_MLFLOW_TRACKING_URI = aws_sagemaker_mlflow_tracking_server.this[0].arn
  } : {})
}
