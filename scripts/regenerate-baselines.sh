#!/usr/bin/env bash
# Regenerates the committed baselines in results/baselines/ — the one way they change, on
# purpose (docs/ci.md, "Refreshing a baseline"). Builds querygate from this checkout, runs each
# baseline scenario at its own scale (what the README's gate command runs), and replaces the
# baseline only when the run is complete and the new file reads back and gates cleanly.
#
#   scripts/regenerate-baselines.sh            # docker (postgres:17) and local baselines
#   scripts/regenerate-baselines.sh docker     # only the docker one (what `--backend auto` picks where Docker answers)
#   scripts/regenerate-baselines.sh local      # only the local-backend one (CI without Docker)
#
# Baselines:
#   results/baselines/focus_sessions.json        --backend docker, image postgres:17 (QUERYGATE_IMAGE)
#   results/baselines/focus_sessions.local.json  --backend local (the server binaries on this machine)
set -euo pipefail
cd "$(dirname "$0")/.."

backends=("${@:-docker local}")
# shellcheck disable=SC2206
backends=(${backends[*]})
scenario=scenarios/focus_sessions.toml

# QUERYGATE_PROFILE=dev uses a debug build (faster to build; the measured queries are the
# server's work either way, and the gate compares same-run ratios).
profile="${QUERYGATE_PROFILE:-release}"
cargo build --profile "$profile" --locked --quiet
if [ "$profile" = dev ]; then bin=target/debug/querygate; else bin="target/$profile/querygate"; fi
"$bin" check "$scenario"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for backend in "${backends[@]}"; do
    case "$backend" in
        docker) target=results/baselines/focus_sessions.json ;;
        local) target=results/baselines/focus_sessions.local.json ;;
        *) echo "regenerate-baselines: unknown backend '$backend' (docker or local)" >&2; exit 2 ;;
    esac
    echo "regenerate-baselines: $scenario on $backend → $target"
    new="$tmp/$(basename "$target")"
    set +e
    # Exit 1 only means a claim is refuted (the focus scenario's claims are quoted as written and
    # some are false): the measurement is still a valid baseline. 2 and 3 are not.
    "$bin" run "$scenario" --backend "$backend" --out "$tmp/run-$backend.json" --save-baseline "$new" --format json >/dev/null
    code=$?
    set -e
    if [ "$code" -ge 2 ]; then
        echo "regenerate-baselines: the run failed (exit $code); $target left as it was" >&2
        exit "$code"
    fi
    if [ ! -s "$new" ]; then
        echo "regenerate-baselines: the run was incomplete, no baseline written; $target left as it was" >&2
        exit 3
    fi
    # The new file must read back and gate against itself without a regression.
    set +e
    "$bin" compare "$new" "$new" --format json >"$tmp/self-gate.json"
    code=$?
    set -e
    if [ "$code" -ge 2 ]; then
        echo "regenerate-baselines: the new baseline does not read back (exit $code)" >&2
        exit "$code"
    fi
    if grep -q '"verdict": "regressed"' "$tmp/self-gate.json"; then
        echo "regenerate-baselines: the new baseline does not pass against itself; not installed" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$target")"
    mv "$new" "$target"
    echo "regenerate-baselines: wrote $target"
done
