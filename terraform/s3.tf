# Four buckets: data (raw MNIST + pipeline artifacts), models (ONNX files and evaluation
# reports the registry points at), site (the built web app, read only by CloudFront) and logs
# (server access logs of the other three).

locals {
  content_buckets = {
    data   = local.data_bucket
    models = local.model_bucket
    site   = local.site_bucket
  }
  all_buckets = merge(local.content_buckets, { logs = local.logs_bucket })
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; every object can be rebuilt (MNIST is public, models are retrained by the pipeline, the site is rebuilt by CI).
  #checkov:skip=CKV_AWS_145:SSE-S3 instead of a customer managed KMS key: presigned model downloads and CloudFront OAC then need no KMS grants, and nothing stored is confidential.
  #checkov:skip=CKV_AWS_18:Access logging is enabled by aws_s3_bucket_logging for data, models and site; the logs bucket does not log into itself.
  #checkov:skip=CKV2_AWS_61:Every bucket has a lifecycle configuration (aws_s3_bucket_lifecycle_configuration.data, .models, .site, .logs); checkov does not follow them to this for_each resource.
  #checkov:skip=CKV2_AWS_62:Event notifications are enabled by aws_s3_bucket_notification for data, models and site; nothing consumes events about access logs.
  for_each = local.all_buckets

  bucket = each.value
  # A destroy deletes every object version and delete marker only when asked
  # (`make tf-destroy` sets it for the destroy alone); otherwise buckets that hold data stay.
  force_destroy = var.destroy_bucket_contents
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    # Server access logs can only be delivered to SSE-S3 buckets.
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.content_buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["logs"].id
  target_prefix = "${each.value}/"

  # S3 checks that the log delivery service may write to the target before accepting this.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_notification" "this" {
  for_each = local.content_buckets

  bucket = aws_s3_bucket.this[each.key].id
  # Object events go to EventBridge, where the raw-data rule starts the pipeline.
  eventbridge = true
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.this["data"].id

  rule {
    id     = "expire-old-pipeline-artifacts"
    status = "Enabled"
    filter {
      prefix = local.pipeline_execution_prefix
    }
    expiration {
      days = var.pipeline_artifact_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Step code lives at content-addressed prefixes (pipelines/mnist/step_code.py): every
  # definition build uploads its code again, which renews its age, so the deployed code stays
  # and code no definition has used for the retention period goes.
  rule {
    id     = "expire-unused-step-code"
    status = "Enabled"
    filter {
      prefix = "${local.pipeline_prefix}/code/"
    }
    expiration {
      days = var.step_code_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # What the SageMaker SDK uploads while building a definition; the build copies what the
  # definition needs to the code prefix above, so the rest is garbage a day later.
  rule {
    id     = "expire-definition-staging"
    status = "Enabled"
    filter {
      prefix = "${local.pipeline_prefix}/staging/"
    }
    expiration {
      days = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Corrections nobody reviewed go after a while: with the reserved concurrency, this bounds
  # what the public feedback URL can store (docs/aws.md, "Abuse limits").
  rule {
    id     = "expire-unreviewed-feedback"
    status = "Enabled"
    filter {
      prefix = "feedback/pending/"
    }
    expiration {
      days = var.feedback_pending_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Raw data needs no rule of its own: each dataset version is a new, never rewritten prefix
  # (<raw prefix>/<version id>/, manifest last), so its objects never become noncurrent; only
  # the latest.json pointer does, and its old copies may go.
  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "models" {
  bucket = aws_s3_bucket.this["models"].id

  # Model files are content-addressed and referenced by registry entries: the current
  # versions never expire, only replaced or deleted ones do.
  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.this["site"].id

  # Every deployment replaces the files; old builds are kept briefly for a rollback.
  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.this["logs"].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

locals {
  model_bucket_cors = jsondecode(file("${path.module}/../contracts/model-bucket-cors.json"))
}

# The browser fetches model files from presigned URLs: only the site may read them cross-origin.
resource "aws_s3_bucket_cors_configuration" "models" {
  bucket = aws_s3_bucket.this["models"].id

  # The rule is contracts/model-bucket-cors.json, which the local stack applies too.
  cors_rule {
    id              = local.model_bucket_cors.id
    allowed_methods = local.model_bucket_cors.allowed_methods
    allowed_origins = [local.site_origin]
    allowed_headers = local.model_bucket_cors.allowed_headers
    expose_headers  = local.model_bucket_cors.expose_headers
    max_age_seconds = local.model_bucket_cors.max_age_seconds
  }

  lifecycle {
    precondition {
      condition     = local.site_origin != ""
      error_message = "Set site_origin when enable_cloudfront is false: the API and model downloads allow only that origin."
    }
  }
}

# Bucket policies: TLS only everywhere; the logs bucket also admits S3 log delivery from these
# buckets, and the site bucket admits this CloudFront distribution alone.
data "aws_iam_policy_document" "tls_only" {
  for_each = local.all_buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
    # {"AWS": "*"} means everyone, like "*"; the emulator's log delivery check reads only
    # principals written as a map.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

data "aws_iam_policy_document" "logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["logs"].json]

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this["logs"].arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for key, name in local.content_buckets : aws_s3_bucket.this[key].arn]
    }
  }
}

data "aws_iam_policy_document" "site" {
  source_policy_documents = var.deny_insecure_transport ? [data.aws_iam_policy_document.tls_only["site"].json] : []

  dynamic "statement" {
    for_each = var.enable_cloudfront ? [aws_cloudfront_distribution.site[0].arn] : []
    content {
      sid       = "CloudFrontReadsTheSite"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.this["site"].arn}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.this["logs"].id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_policy" "site" {
  count = var.deny_insecure_transport || var.enable_cloudfront ? 1 : 0

  bucket = aws_s3_bucket.this["site"].id
  policy = data.aws_iam_policy_document.site.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = var.deny_insecure_transport ? { data = local.data_bucket, models = local.model_bucket } : {}

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
