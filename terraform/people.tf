# The people of docs/aws.md who are not the deployer: who reviews feedback and who approves
# model versions. Each is a role people of this account assume (the account's own IAM policy
# decides who may: an administrator grants sts:AssumeRole on it to a user or a group), with
# the least-privilege policy its commands need (iam/feedback-reviewer.json,
# iam/model-approver.json). The local stack gives the CLI's people the same roles
# (packages/playground/src/playground/people.py). The deployer is the administrator docs/aws.md
# starts from, not a role this configuration makes.
data "aws_iam_policy_document" "assumed_by_people_of_this_account" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_iam_role" "feedback_reviewer" {
  name               = "${var.name_prefix}-feedback-reviewer"
  description        = "A person reviewing feedback (playground feedback review): reads corrections, writes feedback dataset versions."
  assume_role_policy = data.aws_iam_policy_document.assumed_by_people_of_this_account.json
}

resource "aws_iam_role_policy" "feedback_reviewer" {
  name   = "review-feedback"
  role   = aws_iam_role.feedback_reviewer.id
  policy = templatefile("${path.module}/../iam/feedback-reviewer.json", local.policy_vars)
}

resource "aws_iam_role" "model_approver" {
  name               = "${var.name_prefix}-model-approver"
  description        = "A person approving or rejecting versions of ${local.model_package_group} (playground models)."
  assume_role_policy = data.aws_iam_policy_document.assumed_by_people_of_this_account.json
}

resource "aws_iam_role_policy" "model_approver" {
  name   = "decide-model-versions"
  role   = aws_iam_role.model_approver.id
  policy = templatefile("${path.module}/../iam/model-approver.json", local.policy_vars)
}
