resource "aws_sagemaker_model_package_group" "models" {
  model_package_group_name        = local.model_package_group
  model_package_group_description = "MNIST digit classifier versions (ONNX), registered by the ${local.pipeline_name} pipeline."
}

# The definition is the JSON that pipeline.py writes (`playground pipeline definition`); it
# refers to the execution role and to step code uploaded to the data bucket, so it can only be
# produced after a first apply has created those.
resource "aws_sagemaker_pipeline" "training" {
  count = local.create_pipeline ? 1 : 0

  pipeline_name         = local.pipeline_name
  pipeline_display_name = local.pipeline_name
  pipeline_description  = "MNIST continuous training: prepare, train, evaluate, gate, register."
  role_arn              = aws_iam_role.sagemaker_execution.arn
  pipeline_definition   = file(var.pipeline_definition_file)

  lifecycle {
    precondition {
      condition     = strcontains(file(var.pipeline_definition_file), aws_iam_role.sagemaker_execution.arn)
      error_message = "The pipeline definition does not use this deployment's execution role: regenerate it with the settings from `terraform output playground_environment`."
    }
  }

  depends_on = [aws_iam_role_policy.sagemaker_execution]
}
