# Trust policies of the GitHub Actions roles: which OIDC tokens may assume them.
#
# AWS compares only the token's `sub` and `aud` claims here (GitHub's custom claims are not
# condition keys in IAM), so each role names the exact subjects GitHub mints for this
# repository, never a pattern a similarly named repository could match:
#
# - the immutable form, `repo:<owner>@<owner id>/<name>@<repository id>:<context>`, which GitHub
#   issues for repositories created, renamed or transferred on or after 2026-07-15 (and for
#   older ones that opted in); the ids never change and are never reused;
# - the name-only form, `repo:<owner>/<name>:<context>`, of older repositories, unless
#   `legacy_subjects` is false (a deleted repository's name can be claimed again).
#
# The context is `ref:refs/heads/main` for the deploy role (push and workflow_dispatch on main)
# and `pull_request` for the plan role (GitHub's documented default subjects, "OpenID Connect
# reference" in the GitHub Actions documentation). No provider: the unit tests render this
# module with `terraform console` and feed the policies token claim sets.

terraform {
  required_version = ">= 1.10"
}

variable "repository" {
  description = "GitHub repository, owner/name."
  type        = string
}

variable "owner_id" {
  description = "Numeric id of the repository's owner (GitHub's repository_owner_id claim)."
  type        = string
}

variable "repository_id" {
  description = "Numeric id of the repository (GitHub's repository_id claim)."
  type        = string
}

variable "legacy_subjects" {
  description = "Also trust the name-only subjects of repositories that predate immutable subjects."
  type        = bool
  default     = true
}

variable "provider_arn" {
  description = "ARN of the account's OIDC provider for token.actions.githubusercontent.com."
  type        = string
}

locals {
  owner = split("/", var.repository)[0]
  name  = split("/", var.repository)[1]

  contexts = {
    deploy = "ref:refs/heads/main"
    plan   = "pull_request"
  }

  subjects = {
    for role, context in local.contexts : role => concat(
      ["repo:${local.owner}@${var.owner_id}/${local.name}@${var.repository_id}:${context}"],
      var.legacy_subjects ? ["repo:${var.repository}:${context}"] : [],
    )
  }

  policies = {
    for role, subjects in local.subjects : role => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "GitHubActions${title(role)}"
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = var.provider_arn }
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = subjects
          }
        }
      }]
    })
  }
}

output "subjects" {
  description = "The subjects each role trusts: {deploy, plan} => [sub, ...]."
  value       = local.subjects
}

output "policies" {
  description = "Trust policy JSON of each role: {deploy, plan}."
  value       = local.policies
}
