#!/usr/bin/env bash
# The focus repository measured twice on the same scenario file: as SQL re-typed into TOML
# (`querygate run`) and as the Rust functions themselves (`cargo bench --bench focus_repo`).
# Prints each operation's speedup, round trips and claim verdicts side by side. Then checks that
# `querygate report` and `querygate compare` read the bench's results file: a second bench run
# gated against the first (bench vs bench; a TOML run is no baseline for a Rust run, see below).
#
# Exit codes 0 and 1 of querygate are verdicts (1: a refuted claim or a regression) and are
# printed; 2 and above mean querygate could not do its job, and stop this script with that code.
# Usage: [PROFILE=release|dev] scripts/rust-api-vs-toml.sh [--backend local|docker] [other `run` flags]
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--backend local)

profile=${PROFILE:-release}
target=${CARGO_TARGET_DIR:-target}
cargo build --profile "$profile" --quiet --bin querygate
qg=$target/$([ "$profile" = dev ] && echo debug || echo "$profile")/querygate

# Runs "$@" and sets $rc to its exit code; stops the script on 2 or more.
verdict() {
  rc=0
  "$@" || rc=$?
  if [ "$rc" -ge 2 ]; then
    echo "error: exit code $rc from: $*" >&2
    exit "$rc"
  fi
}
bench() { cargo bench --profile "$profile" --quiet --bench focus_repo -- "$@"; }

verdict "$qg" run scenarios/focus_sessions.toml "${flags[@]}" --quiet --format json --out results/focus_toml.json >/dev/null
toml_rc=$rc
verdict bench "${flags[@]}" --quiet --format json --out results/focus_repo.json >/dev/null
rust_rc=$rc

summary() {
  jq -r --arg how "$2" '.scenarios[0].operations[] |
    "\(.name)\t\($how)\t\(.speedup.estimate // "-" | tostring | .[0:5])× [\(.speedup.low // "-" | tostring | .[0:5])–\(.speedup.high // "-" | tostring | .[0:5])]\t" +
    "trips \(.before.round_trips // "-")→\(.after.round_trips // "-")\t" +
    "same=\(.same_result)\t" +
    ([.claims[] | "\(if .verdict == "holds" then "✓" elif .verdict == "refuted" then "✗" elif .verdict == "not-evaluated" then "–" else "?" end) \(.claim)"] | join("; "))' "$1"
}
{ summary results/focus_toml.json "toml"; summary results/focus_repo.json "rust"; } | sort -s -t$'\t' -k1,1 | column -t -s$'\t'

echo
echo "exit codes: toml run $toml_rc, rust run $rust_rc (1: refuted claims)"
# `report` exits with the run's own code (1 when a claim is refuted).
verdict "$qg" report results/focus_repo.json --format markdown >results/focus_repo.md
echo "report results/focus_repo.json: exit $rc, results/focus_repo.md"

# The gate, bench vs bench: the same functions measured again against the first Rust run.
# --fail-on regressions: the exit code is the gate's verdict alone, not the refuted claims'.
verdict bench "${flags[@]}" --quiet --format json --out results/focus_repo_2.json \
  --baseline results/focus_repo.json --fail-on regressions >/dev/null
echo "rust run with --baseline of the first: exit $rc, gate $(jq -r .gate.verdict results/focus_repo_2.json)"
verdict "$qg" compare results/focus_repo.json results/focus_repo_2.json --fail-on regressions \
  --format json >results/focus_repo_compare.json
echo "compare (rust baseline, rust run): exit $rc, gate $(jq -r .gate.verdict results/focus_repo_compare.json)"

# A TOML run as the baseline of a Rust run is refused (exit 2): their before sides run other
# code (SQL vs `rust <fn>` in the fingerprints), so the gate would compare two inputs, not a change.
rc=0
"$qg" compare results/focus_toml.json results/focus_repo.json >/dev/null 2>results/focus_toml_vs_repo.err || rc=$?
echo "compare (toml baseline, rust run): exit $rc (2 expected: $(head -n1 results/focus_toml_vs_repo.err | cut -c1-100)…)"
[ "$rc" -eq 2 ]
