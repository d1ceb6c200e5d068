# The get_models API: the handler from packages/functions, packaged by `make lambda`, behind a
# Function URL that only the site's origin may call from a browser.

locals {
  # The Function URL owns the API's CORS; the handler adds no CORS header (a browser refuses
  # an answer that carries Access-Control-Allow-Origin twice). The local gateway applies the
  # same file (packages/playground/src/playground/api.py, with localaws.gateway).
  api_cors = jsondecode(file("${path.module}/../contracts/api-cors.json"))
}

resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_158:The API logs request paths and status codes, nothing confidential; CloudWatch encrypts them at rest with its own key.
  name              = "/aws/lambda/${local.api_function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:A dead-letter queue serves asynchronous invocations; this function is only invoked synchronously through its URL.
  #checkov:skip=CKV_AWS_117:The function calls only public AWS APIs (SageMaker, S3); a VPC would add NAT cost and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds bucket and group names only, no secrets; Lambda encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the CI; the package is built from this repository by `make lambda` and deployed by Terraform only.
  function_name    = local.api_function_name
  description      = "Lists approved MNIST model versions of ${local.model_package_group} with presigned download URLs."
  role             = aws_iam_role.api.arn
  runtime          = "python3.13"
  handler          = "functions.get_models.handler.handler"
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  architectures    = ["x86_64"]
  memory_size      = 256
  timeout          = 10

  # A cap on the public, unauthenticated URL's concurrency bounds cost under abuse.
  reserved_concurrent_executions = var.api_reserved_concurrency

  environment {
    variables = {
      PLAYGROUND_TARGET                      = "aws"
      PLAYGROUND_DATA_BUCKET                 = local.data_bucket
      PLAYGROUND_MODEL_BUCKET                = local.model_bucket
      PLAYGROUND_MODEL_PACKAGE_GROUP         = local.model_package_group
      PLAYGROUND_DOWNLOAD_URL_EXPIRY_SECONDS = tostring(var.download_url_expiry_seconds)
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.api, aws_iam_role_policy.api]
}

resource "aws_lambda_function_url" "api" {
  #checkov:skip=CKV_AWS_258:The model list is public by design (the site calls it from any visitor's browser); CORS limits browsers to the site origin and reserved concurrency caps the load.
  function_name      = aws_lambda_function.api.function_name
  authorization_type = "NONE"

  cors {
    allow_origins     = [local.site_origin]
    allow_methods     = local.api_cors.allow_methods
    allow_headers     = local.api_cors.allow_headers
    expose_headers    = local.api_cors.expose_headers
    max_age           = local.api_cors.max_age
    allow_credentials = local.api_cors.allow_credentials
  }

  lifecycle {
    precondition {
      condition     = local.site_origin != ""
      error_message = "Set site_origin when enable_cloudfront is false: the API allows only that origin."
    }
  }
}
