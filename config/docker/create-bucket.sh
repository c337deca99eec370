#!/bin/sh
# One-shot job of docker-compose.yml (service seaweedfs-bucket): creates Mailgate's bucket through
# the S3 API with a SigV4-signed PUT, as scripts/stack does for the native stack. A bucket that
# already exists is fine, so the job succeeds on every `up`. It runs in the SeaweedFS image, which
# has curl (7.75 or later signs with --aws-sigv4).
set -eu

: "${S3_ENDPOINT:?S3_ENDPOINT must be set}"
: "${S3_REGION:?S3_REGION must be set}"
: "${S3_BUCKET:?S3_BUCKET must be set}"
: "${S3_ACCESS_KEY_ID:?S3_ACCESS_KEY_ID must be set}"
: "${S3_SECRET_ACCESS_KEY:?S3_SECRET_ACCESS_KEY must be set}"
attempts="${BUCKET_ATTEMPTS:-60}"

# The credentials go to curl on standard input (-K -), not on its command line.
s3() { # s3 CURL_ARGS...: prints the HTTP status for $S3_ENDPOINT/$S3_BUCKET, 000 if unreachable
  status="$(printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" |
    curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" \
      "$@" "$S3_ENDPOINT/$S3_BUCKET" 2>/dev/null)" || true
  echo "${status:-000}"
}

i=1
while :; do
  code="$(s3 -X PUT)"
  case "$code" in
    200) echo "bucket $S3_BUCKET created"; exit 0 ;;
    # 409: the bucket exists; make sure it is ours to use.
    409) [ "$(s3 --head)" = 200 ] && { echo "bucket $S3_BUCKET already exists"; exit 0; } ;;
  esac
  if [ "$i" -ge "$attempts" ]; then
    echo "cannot create bucket $S3_BUCKET at $S3_ENDPOINT (last HTTP status $code)" >&2
    exit 1
  fi
  i=$((i + 1))
  sleep 2
done
