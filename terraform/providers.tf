provider "aws" {
  region = var.region

  # Set only when applying to the local AWS emulator: every service this configuration uses
  # goes to one endpoint, and the calls that need a real AWS account are skipped.
  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint_url] : []
    content {
      cloudfront = endpoints.value
      events     = endpoints.value
      iam        = endpoints.value
      lambda     = endpoints.value
      logs       = endpoints.value
      s3         = endpoints.value
      sagemaker  = endpoints.value
      sts        = endpoints.value
    }
  }
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_region_validation      = local.emulated
  s3_use_path_style           = local.emulated
  # The emulator answers 500 for what it does not implement: fail after a few quick retries
  # (enough for a keep-alive connection the local server closed), not after AWS's many.
  max_retries = local.emulated ? 3 : null

  default_tags {
    tags = {
      project    = var.name_prefix
      managed-by = "terraform"
    }
  }
}
