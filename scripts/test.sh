#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing (idempotent), then runs
# every test after `cargo fmt --check` and clippy (warnings are errors). Tests run against real servers: a local ephemeral PostgreSQL (server binaries
# from Debian), PostgreSQL 17 in Docker (image built locally when no registry is reachable),
# and headless Chromium for the HTML report. A missing prerequisite that cannot be installed
# fails the run with a message; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || need_apt+=(postgresql)
command -v pgbench >/dev/null || need_apt+=(postgresql-contrib)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) or run as root" >&2
        exit 1
    fi
    echo "test.sh: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "test.sh: FAIL: no Docker engine answers 'docker info'; the docker backend tests need one" >&2
    exit 1
fi
scripts/build-pg-image.sh postgres:17

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast "$@"
