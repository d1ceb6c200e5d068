# Continuous training: new raw data, and a weekly run, both start the pipeline.

locals {
  # The commit the definition was written from (its GitCommit default): every triggered run
  # records which code it runs.
  definition_git_commit = local.create_pipeline ? one([
    for parameter in jsondecode(file(var.pipeline_definition_file)).Parameters :
    lookup(parameter, "DefaultValue", null) if parameter.Name == "GitCommit"
  ]) : null
}

resource "aws_cloudwatch_event_rule" "new_raw_data" {
  count = local.create_pipeline ? 1 : 0

  name        = "${var.name_prefix}-new-raw-data"
  description = "A new object under s3://${local.data_bucket}/${var.raw_prefix}/ starts ${var.pipeline_name}."
  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [local.data_bucket] }
      object = { key = [{ prefix = "${var.raw_prefix}/" }] }
    }
  })
}

resource "aws_cloudwatch_event_rule" "schedule" {
  count = local.create_pipeline ? 1 : 0

  name                = "${var.name_prefix}-training-schedule"
  description         = "Periodic run of ${var.pipeline_name}, so the model is retrained even without new data."
  schedule_expression = var.training_schedule
}

resource "aws_cloudwatch_event_target" "start_pipeline" {
  for_each = local.create_pipeline ? {
    new_raw_data = aws_cloudwatch_event_rule.new_raw_data[0].name
    schedule     = aws_cloudwatch_event_rule.schedule[0].name
  } : {}

  rule      = each.value
  target_id = "start-${var.pipeline_name}"
  arn       = aws_sagemaker_pipeline.training[0].arn
  role_arn  = aws_iam_role.training_trigger.arn

  # The pipeline's own defaults apply to every other parameter.
  sagemaker_pipeline_target {
    dynamic "pipeline_parameter_list" {
      for_each = local.definition_git_commit == null ? [] : [local.definition_git_commit]
      content {
        name  = "GitCommit"
        value = pipeline_parameter_list.value
      }
    }
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }
}
