# GitHub Actions reach AWS only through OIDC: no stored keys. Workflows on main assume the
# deploy role; pull requests assume the plan role, which can only read. The trust policies
# (modules/github_trust) accept GitHub's immutable subjects and, for older repositories, the
# name-only ones.

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_enabled && var.github_oidc_provider_arn == "" ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

module "github_trust" {
  source = "./modules/github_trust"
  count  = local.github_enabled ? 1 : 0

  repository      = var.github_repository
  owner_id        = var.github_repository_owner_id
  repository_id   = var.github_repository_id
  legacy_subjects = var.github_legacy_subjects
  provider_arn    = local.github_oidc_provider_arn
}

resource "aws_iam_role" "github" {
  for_each = local.github_enabled ? toset(["deploy", "plan"]) : toset([])

  name                 = "${var.name_prefix}-github-${each.key}"
  description          = "GitHub Actions of ${var.github_repository} (${each.key})."
  assume_role_policy   = module.github_trust[0].policies[each.key]
  max_session_duration = 3600

  lifecycle {
    precondition {
      condition     = var.terraform_state_bucket != ""
      error_message = "Set terraform_state_bucket: the GitHub roles read or write the Terraform state there."
    }
    precondition {
      condition     = can(regex("^[0-9]+$", var.github_repository_owner_id)) && can(regex("^[0-9]+$", var.github_repository_id))
      error_message = "Set github_repository_owner_id and github_repository_id (docs/aws.md, step 1): new repositories' tokens name the repository by its ids."
    }
  }
}

resource "aws_iam_role_policy" "github" {
  for_each = aws_iam_role.github

  name   = "github-${each.key}"
  role   = each.value.id
  policy = templatefile("${path.module}/../iam/github-${each.key}.json", local.policy_vars)
}
