#!/usr/bin/env bash
# The focus repository measured twice on the same scenario file: as SQL re-typed into TOML
# (`querygate run`) and as the Rust functions themselves (`cargo bench --bench focus_repo`).
# Prints each operation's speedup, round trips and claim verdicts side by side; checks that
# `querygate report` and `querygate compare` read the bench's results file.
# Usage: [PROFILE=release|dev] scripts/rust-api-vs-toml.sh [--backend local|docker] [other `run` flags]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--backend local)

profile=${PROFILE:-release}
cargo build --profile "$profile" --quiet --bin querygate
qg=target/$([ "$profile" = dev ] && echo debug || echo "$profile")/querygate
$qg run scenarios/focus_sessions.toml "${flags[@]}" --quiet --format json --out results/focus_toml.json >/dev/null || true
cargo bench --profile "$profile" --quiet --bench focus_repo -- "${flags[@]}" --quiet --format json --out results/focus_repo.json >/dev/null || true

summary() {
  jq -r --arg how "$2" '.scenarios[0].operations[] |
    "\(.name)\t\($how)\t\(.speedup.estimate // "-" | tostring | .[0:5])× [\(.speedup.low // "-" | tostring | .[0:5])–\(.speedup.high // "-" | tostring | .[0:5])]\t" +
    "trips \(.before.round_trips // "-")→\(.after.round_trips // "-")\t" +
    "same=\(.same_result)\t" +
    ([.claims[] | "\(if .verdict == "holds" then "✓" elif .verdict == "refuted" then "✗" else "?" end) \(.claim)"] | join("; "))' "$1"
}
{ summary results/focus_toml.json "toml"; summary results/focus_repo.json "rust"; } | sort -s -t$'\t' -k1,1 | column -t -s$'\t'

echo
echo "exit codes: toml $(jq .exit_code results/focus_toml.json), rust $(jq .exit_code results/focus_repo.json)"
# `report` exits with the run's own code (1 when a claim is refuted): only >= 2 is a failure here.
$qg report results/focus_repo.json --format markdown > results/focus_repo.md || [ $? -eq 1 ]
$qg compare results/focus_toml.json results/focus_repo.json --format json > results/focus_toml_vs_repo.json || true
echo "report: results/focus_repo.md; compare (toml as baseline, rust as new): gate verdict $(jq -r .gate.verdict results/focus_toml_vs_repo.json)"
