# The feedback API (POST /feedback, contracts/feedback.md): its own small function, role and
# Function URL, so a public write endpoint shares nothing with the model listing but the
# registry it reads. What bounds its cost under abuse is in docs/aws.md ("Abuse limits").

locals {
  # The URL layer's CORS, the same file the local gateway applies to /feedback.
  feedback_cors = jsondecode(file("${path.module}/../contracts/feedback-cors.json"))
}

resource "aws_iam_role" "feedback" {
  name               = "${var.name_prefix}-feedback"
  description        = "The feedback API: reads versions of ${local.model_package_group}, writes corrections under feedback/pending/ only."
  assume_role_policy = data.aws_iam_policy_document.assumed_by["lambda"].json
}

resource "aws_iam_role_policy" "feedback" {
  name   = "feedback"
  role   = aws_iam_role.feedback.id
  policy = templatefile("${path.module}/../iam/feedback-lambda.json", local.policy_vars)
}

resource "aws_cloudwatch_log_group" "feedback" {
  #checkov:skip=CKV_AWS_158:The log holds status codes, error codes and sample ids, nothing that identifies a person; CloudWatch encrypts it at rest with its own key.
  name              = "/aws/lambda/${local.feedback_function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "feedback" {
  #checkov:skip=CKV_AWS_116:A dead-letter queue serves asynchronous invocations; this function is only invoked synchronously through its URL.
  #checkov:skip=CKV_AWS_117:The function calls only public AWS APIs (SageMaker, S3); a VPC would add NAT cost and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds bucket and group names only, no secrets; Lambda encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the CI; the package is built from this repository by `make lambda` and deployed by Terraform only.
  function_name    = local.feedback_function_name
  description      = "Stores a person's correction of a prediction under feedback/pending/ for review."
  role             = aws_iam_role.feedback.arn
  runtime          = "python3.13"
  handler          = "functions.feedback.handler.handler"
  filename         = local.feedback_lambda_zip
  source_code_hash = filebase64sha256(local.feedback_lambda_zip)
  architectures    = ["x86_64"]
  # Small and short: a correction is checked in memory and costs one registry read (cached
  # per warm container) and one S3 write, so a request's price is bounded by these two.
  memory_size = var.feedback_memory_mb
  timeout     = var.feedback_timeout_seconds

  # The cap on the public, unauthenticated URL: beyond it AWS answers 429 without running
  # (or billing) the function.
  reserved_concurrent_executions = var.feedback_reserved_concurrency

  environment {
    variables = {
      PLAYGROUND_TARGET              = "aws"
      PLAYGROUND_DATA_BUCKET         = local.data_bucket
      PLAYGROUND_MODEL_PACKAGE_GROUP = local.model_package_group
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.feedback, aws_iam_role_policy.feedback]
}

resource "aws_lambda_function_url" "feedback" {
  #checkov:skip=CKV_AWS_258:Corrections come from any visitor's browser, without an account; CORS limits browsers to the site origin, the function checks every body, and reserved concurrency caps the load.
  function_name      = aws_lambda_function.feedback.function_name
  authorization_type = "NONE"

  cors {
    allow_origins     = [local.site_origin]
    allow_methods     = local.feedback_cors.allow_methods
    allow_headers     = local.feedback_cors.allow_headers
    expose_headers    = local.feedback_cors.expose_headers
    max_age           = local.feedback_cors.max_age
    allow_credentials = local.feedback_cors.allow_credentials
  }

  lifecycle {
    precondition {
      condition     = local.site_origin != ""
      error_message = "Set site_origin when enable_cloudfront is false: the feedback API allows only that origin."
    }
  }
}

# A public Function URL (authorization NONE) needs two statements in the function's resource
# policy (AWS Lambda Developer Guide, "Control access to Lambda function URLs"): anyone may
# call it through the URL (lambda:InvokeFunctionUrl, below), and, for URLs created since
# October 2025, anyone may invoke it when the call came through the URL (lambda:InvokeFunction
# with lambda:InvokedViaFunctionUrl = true). Provider 5.100's aws_lambda_permission cannot set
# that condition, so terraform_data.function_url_invoke adds the second statement with the
# Lambda API at apply time (terraform/scripts/function_url_invoke_permission.py).
locals {
  public_functions = {
    get_models = aws_lambda_function.api
    feedback   = aws_lambda_function.feedback
  }
}

resource "aws_lambda_permission" "public_url" {
  #checkov:skip=CKV_AWS_301:Both URLs are public by design (any visitor's browser calls them); the permission is for the URL only (function_url_auth_type NONE), and reserved concurrency caps each.
  for_each               = local.public_functions
  statement_id           = "public-function-url"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = each.value.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "terraform_data" "function_url_invoke" {
  for_each = local.public_functions

  # Again whenever the function is replaced or its code or settings change (a new function
  # has an empty policy); the script adds nothing when the statement is there.
  triggers_replace = [each.value.arn, each.value.last_modified]

  provisioner "local-exec" {
    working_dir = "${path.module}/.."
    command = join(" ", concat(
      ["uv", "run", "python", "terraform/scripts/function_url_invoke_permission.py"],
      ["--function", each.value.function_name, "--region", var.region],
      local.emulated ? ["--endpoint-url", var.aws_endpoint_url] : [],
    ))
  }

  depends_on = [aws_lambda_permission.public_url]
}
