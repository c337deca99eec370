#!/bin/sh
# Entry point of the seaweedfs service in docker-compose.yml. It writes SeaweedFS's S3 identity
# file from S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, so no credential lives in a committed file,
# then hands over to the image's own entry point with -s3.config pointing at that file. The image's
# entry point fixes the ownership of /data and drops root for the unprivileged seaweed user.
#   sh seaweedfs-entrypoint.sh server -s3 [weed flags...]
set -eu

: "${S3_ACCESS_KEY_ID:?S3_ACCESS_KEY_ID must be set}"
: "${S3_SECRET_ACCESS_KEY:?S3_SECRET_ACCESS_KEY must be set}"
# The values are written into JSON as they are: refuse what would need escaping.
for value in "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"; do
  case "$value" in
    *'"'* | *\\*)
      echo "seaweedfs-entrypoint: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must not contain quotes or backslashes" >&2
      exit 1
      ;;
  esac
done

dir="${MAILGATE_S3_CONFIG_DIR:-/tmp/mailgate-seaweedfs}"
config="$dir/s3.json"
umask 077
mkdir -p "$dir"
printf '{"identities":[{"name":"mailgate","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
  "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" >"$config"
# Readable by the user the server ends up running as, and by nobody else.
if [ "$(id -u)" = 0 ] && id seaweed >/dev/null 2>&1; then
  chown -R seaweed "$dir"
fi

# Only the S3 API serves objects (issue 12): JWT keys make the volume server demand a signed token
# for every read and write and the filer one the S3 gateway signs. They only sign tokens between
# the processes of this one server, so fresh random keys at each start are enough; set the
# WEED_JWT_* variables to keep your own.
key() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
export WEED_JWT_SIGNING_KEY="${WEED_JWT_SIGNING_KEY:-$(key)}"
export WEED_JWT_SIGNING_READ_KEY="${WEED_JWT_SIGNING_READ_KEY:-$(key)}"
export WEED_JWT_FILER_SIGNING_KEY="${WEED_JWT_FILER_SIGNING_KEY:-$(key)}"
export WEED_JWT_FILER_SIGNING_READ_KEY="${WEED_JWT_FILER_SIGNING_READ_KEY:-$(key)}"
export WEED_ACCESS_UI=false WEED_FILER_EXPOSE_DIRECTORY_METADATA_ENABLED=false

exec "${SEAWEEDFS_IMAGE_ENTRYPOINT:-/entrypoint.sh}" "$@" -s3.config="$config"
