# GitHub Actions reach AWS only through OIDC: no stored keys. Workflows on main assume the
# deploy role; pull requests assume the plan role, which can only read.

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_enabled && var.github_oidc_provider_arn == "" ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "github_trust" {
  for_each = local.github_enabled ? {
    deploy = "repo:${var.github_repository}:ref:refs/heads/main"
    plan   = "repo:${var.github_repository}:pull_request"
  } : {}

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [each.value]
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = data.aws_iam_policy_document.github_trust

  name                 = "${var.name_prefix}-github-${each.key}"
  description          = "GitHub Actions of ${var.github_repository} (${each.key})."
  assume_role_policy   = each.value.json
  max_session_duration = 3600

  lifecycle {
    precondition {
      condition     = var.terraform_state_bucket != ""
      error_message = "Set terraform_state_bucket: the GitHub roles read or write the Terraform state there."
    }
  }
}

resource "aws_iam_role_policy" "github" {
  for_each = aws_iam_role.github

  name   = "github-${each.key}"
  role   = each.value.id
  policy = templatefile("${path.module}/../iam/github-${each.key}.json", local.policy_vars)
}
