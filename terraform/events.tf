# Continuous training: a new dataset version, and a weekly run, both start the pipeline.
#
# `playground data seed` writes a dataset version's IDX files under
# <raw prefix>/<version id>/ first and its manifest.json last (write-once, If-None-Match), so
# the rule below matches only that one object: one dataset change is one event and one
# execution. The data files, latest.json and the pipeline's own outputs match nothing.

locals {
  # Both rules' names, the manifest pattern and the targets' retry policy are
  # contracts/pipeline-triggers.json, which the local stack
  # (packages/playground/src/playground/triggers.py) reads too.
  triggers = jsondecode(templatefile("${path.module}/../contracts/pipeline-triggers.json", {
    data_bucket = local.data_bucket
    raw_prefix  = var.raw_prefix
  }))

  # The commit the definition was written from (its GitCommit default): every triggered run
  # records which code it runs.
  definition_git_commit = local.create_pipeline ? one([
    for parameter in jsondecode(file(var.pipeline_definition_file)).Parameters :
    lookup(parameter, "DefaultValue", null) if parameter.Name == "GitCommit"
  ]) : null
}

resource "aws_cloudwatch_event_rule" "new_dataset_version" {
  count = local.create_pipeline ? 1 : 0

  name          = "${var.name_prefix}${local.triggers.new_dataset_version.name_suffix}"
  description   = "A new dataset manifest under s3://${local.data_bucket}/${var.raw_prefix}/ starts ${local.pipeline_name}."
  event_pattern = jsonencode(local.triggers.new_dataset_version.event_pattern)
}

resource "aws_cloudwatch_event_rule" "schedule" {
  count = local.create_pipeline ? 1 : 0

  name                = "${var.name_prefix}${local.triggers.schedule.name_suffix}"
  description         = "Periodic run of ${local.pipeline_name} on the newest dataset version (latest.json): without a new version, prepare and train come from the step cache and the model is judged against the champion again, not retrained."
  schedule_expression = var.training_schedule
}

resource "aws_cloudwatch_event_target" "new_dataset_version" {
  count = local.create_pipeline ? 1 : 0

  rule      = aws_cloudwatch_event_rule.new_dataset_version[0].name
  target_id = "start-${local.pipeline_name}"
  arn       = aws_sagemaker_pipeline.training[0].arn
  role_arn  = aws_iam_role.training_trigger.arn

  # A rule passes static parameter values only (JSON paths into the event are a Pipes
  # feature), so the run reads the pipeline's default input, <raw prefix>/latest.json, which
  # `playground data seed` writes before the manifest whose event this is.
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
    maximum_event_age_in_seconds = local.triggers.retry_policy.maximum_event_age_in_seconds
    maximum_retry_attempts       = local.triggers.retry_policy.maximum_retry_attempts
  }
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = local.create_pipeline ? 1 : 0

  rule      = aws_cloudwatch_event_rule.schedule[0].name
  target_id = "start-${local.pipeline_name}"
  arn       = aws_sagemaker_pipeline.training[0].arn
  role_arn  = aws_iam_role.training_trigger.arn

  # The pipeline's own defaults apply (DatasetManifestKey is <raw prefix>/latest.json), and
  # the commit the definition was written from.
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
    maximum_event_age_in_seconds = local.triggers.retry_policy.maximum_event_age_in_seconds
    maximum_retry_attempts       = local.triggers.retry_policy.maximum_retry_attempts
  }
}
