#!/usr/bin/env bash
# Upload the built site (web/dist) to the site bucket, as CloudFront must serve it.
#
#   web/deploy.sh DIST BUCKET
#
# Run by .github/workflows/web.yml and docs/aws.md (step 8) with AWS credentials in the
# environment; tests/integration/web/test_deploy.py runs it against the emulator. Three passes:
#
# 1. Precompressed files (X.gz beside X, written by the build): the .gz bytes go to X's key
#    with `Content-Encoding: gzip`. CloudFront compresses only objects of 1,000 to 10,000,000
#    bytes (AWS CloudFront Developer Guide, "Serve compressed files"), so the 14 MB wasm
#    runtime would otherwise travel uncompressed; an object that already has a
#    Content-Encoding is passed on as it is.
# 2. The other hashed assets, cached for a year. The .gz files and the plain copies of the
#    precompressed files are excluded, which also keeps the objects of pass 1 from --delete.
# 3. The files with fixed names (page, service worker, config, icon), revalidated on every
#    visit: the service worker's precache list is how a deploy reaches a returning visitor.
#
# Hashed assets go first, so a visitor never gets a page that names files not yet uploaded.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DIST BUCKET   (e.g. $0 web/dist my-prefix-site)" >&2
  exit 2
fi
dist="${1%/}"
bucket="$2"
if [[ ! -f "$dist/index.html" ]]; then
  echo "error: no built site in $dist (index.html missing): run \`make web-build\` first" >&2
  exit 1
fi

immutable="public, max-age=31536000, immutable"

# The Content-Type a browser needs for X, by its extension (instantiateStreaming insists on
# application/wasm; module scripts on a JavaScript type).
content_type() {
  case "$1" in
    *.wasm) echo "application/wasm" ;;
    *.mjs | *.js) echo "text/javascript" ;;
    *.css) echo "text/css" ;;
    *.html) echo "text/html" ;;
    *.json) echo "application/json" ;;
    *.svg) echo "image/svg+xml" ;;
    *) echo "error: no content type known for $1: add it to $0" >&2; return 1 ;;
  esac
}

excludes=(--exclude "*.gz")
while IFS= read -r -d '' gz; do
  key="${gz#"$dist"/}"
  key="${key%.gz}"
  type="$(content_type "$key")"
  aws s3 cp "$gz" "s3://$bucket/$key" --only-show-errors \
    --content-encoding gzip --content-type "$type" --cache-control "$immutable"
  excludes+=(--exclude "${key#assets/}")
done < <(find "$dist/assets" -name '*.gz' -print0 | sort -z)

aws s3 sync "$dist/assets" "s3://$bucket/assets" --delete --only-show-errors \
  "${excludes[@]}" --cache-control "$immutable"
aws s3 sync "$dist" "s3://$bucket" --delete --only-show-errors \
  --exclude "assets/*" --exclude "*.gz" --cache-control "no-cache"
