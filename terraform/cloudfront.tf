# The web app: static files in the private site bucket, served by CloudFront, which alone may
# read the bucket (origin access control, SigV4-signed requests).

locals {
  # AWS managed cache policy "CachingOptimized".
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"

  # The Content Security Policy, from its one source (contracts/site-csp.md): directives in key
  # order, each source once, placeholders filled in, as `playground site serve` builds it. The
  # APIs are named by the region's Function URL domain: their CORS names this distribution, so
  # naming their generated hosts here would be a dependency cycle. Model files come from
  # presigned links, which name the bucket's global endpoint.
  site_csp_directives = jsondecode(file("${path.module}/../contracts/site-csp.json")).directives
  site_csp_origins = {
    "{api_origin}"      = "https://*.lambda-url.${var.region}.on.aws"
    "{feedback_origin}" = "https://*.lambda-url.${var.region}.on.aws"
    "{model_origin}"    = "https://${local.model_bucket}.s3.amazonaws.com"
  }
  site_csp = join("; ", [
    for name in sort(keys(local.site_csp_directives)) : join(" ", concat([name], distinct([
      for source in local.site_csp_directives[name] : lookup(local.site_csp_origins, source, source)
    ])))
  ])
}

resource "aws_cloudfront_origin_access_control" "site" {
  count = var.enable_cloudfront ? 1 : 0

  name                              = "${var.name_prefix}-site"
  description                       = "CloudFront reads s3://${local.site_bucket}."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "site" {
  count = var.enable_cloudfront ? 1 : 0

  name = "${var.name_prefix}-site-security-headers"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.site_csp
      override                = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV_AWS_68:AWS WAF costs a monthly fee per web ACL; the site is static files with no forms or logins.
  #checkov:skip=CKV2_AWS_47:No WAF (see CKV_AWS_68), so no Log4j rule set; nothing behind this distribution runs Java.
  #checkov:skip=CKV_AWS_86:CloudFront standard logs need an ACL-enabled bucket; the site bucket's S3 access logs already record every origin read.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate fixes the minimum protocol; set a custom domain and ACM certificate to raise it to TLSv1.2_2021.
  #checkov:skip=CKV2_AWS_42:A custom certificate needs a domain name the project does not own; the default certificate serves HTTPS.
  #checkov:skip=CKV_AWS_310:One origin: a failover origin would be a second copy of the same static build.
  #checkov:skip=CKV_AWS_374:Geo restriction would lock out visitors for no gain: the site is public static files.
  count = var.enable_cloudfront ? 1 : 0

  enabled             = true
  is_ipv6_enabled     = true
  comment             = "${var.name_prefix} web app"
  default_root_object = "index.html"
  price_class         = "PriceClass_100"

  origin {
    origin_id                = "site"
    domain_name              = aws_s3_bucket.this["site"].bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site[0].id
  }

  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site[0].id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
