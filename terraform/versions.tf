terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }

  # Partial configuration: the state bucket, key and region come from `terraform init
  # -backend-config=...` (see docs/aws.md), so the same files serve every account and the
  # emulator test.
  backend "s3" {}
}
