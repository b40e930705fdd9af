#!/usr/bin/env bash
# Validates the regression gate with real runs (not timed tests):
#   A/A:        a no-op migration, N runs against a baseline → false-alarm rate (goal < 1%)
#   latency:    a CHECK constraint that slows the write by ~25% (no plan or buffer change), M runs → detection rate (goal ≥ 95%)
#   plan:       the index of a query dropped, K runs → detection rate (must be 100%)
# Usage: scripts/validate-gate.sh [N_AA] [M_LATENCY] [K_PLAN] [LOOPS]
# QG_ARGS adds flags to every run (e.g. QG_ARGS="--placement shared"); KEEP=1 keeps the results;
# AA_PAUSE=S sleeps S seconds between A/A runs, to spread them over time (machine states change);
# QUERYGATE_BIN=path measures that build instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
n_aa=${1:-20}; m_lat=${2:-10}; k_plan=${3:-5}; loops=${4:-1300}
work=$(mktemp -d /tmp/qg-gate-validation.XXXXXX)
# The release build, or $QUERYGATE_BIN when set (another build, e.g. for a before/after).
if [ -n "${QUERYGATE_BIN:-}" ]; then cp "$QUERYGATE_BIN" "$work/querygate"
else cargo build --release -q; cp target/release/querygate "$work/querygate"; fi   # a private copy: later builds cannot swap it mid-run
qg=$work/querygate
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
cp scripts/validation/{gate.toml,schema.sql,seed.sql} "$work/"
run() { # run KIND N: run N times with migration KIND against the baseline, results in $work/KIND-i.json
    local kind=$1 n=$2
    for i in $(seq 1 "$n"); do
        "$qg" run "$work/gate.toml" --backend local ${QG_ARGS:-} --baseline "$work/base.json" --out "$work/$kind-$i.json" --format json -q >/dev/null || true
        if [ "$kind" = aa ]; then
            echo "$(date +%H:%M:%S) $kind $i load $(cut -d' ' -f1 /proc/loadavg)" >> "$work/times"
            sleep "${AA_PAUSE:-0}"
        fi
    done
}
cp scripts/validation/noop.sql "$work/migration.sql"
"$qg" run "$work/gate.toml" --backend local ${QG_ARGS:-} --save-baseline "$work/base.json" --out "$work/base-run.json" -q >/dev/null
run aa "$n_aa"
sed "s/@LOOPS@/$loops/" scripts/validation/slow_check.sql.in > "$work/migration.sql"
run latency "$m_lat"
cp scripts/validation/drop_index.sql "$work/migration.sql"
run plan "$k_plan"

python3 - "$work" "$n_aa" "$m_lat" "$k_plan" <<'PY'
import glob, json, sys
work = sys.argv[1]
def load(kind):
    out = []
    for f in sorted(glob.glob(f"{work}/{kind}-*.json")):
        r = json.load(open(f))
        out.append(r)
    return out
def verdicts(reports, op):
    vs = []
    for r in reports:
        g = r.get("gate") or {}
        for o in g.get("operations", []):
            if o["operation"] == op:
                vs.append((o["verdict"], [f["id"] for f in o["findings"]]))
    return vs
aa = load("aa")
decisions = [v for r in aa for o in (r.get("gate") or {}).get("operations", []) for v in [o["verdict"]]]
false = sum(1 for v in decisions if v == "regressed")
suspected = sum(1 for r in aa for o in (r.get("gate") or {}).get("operations", []) for f in o["findings"] if f["id"] == "latency-suspected")
unconfirmed = sum(1 for r in aa for o in (r.get("gate") or {}).get("operations", []) for f in o["findings"] if f["id"] == "latency-unconfirmed")
inconclusive = sum(1 for v in decisions if v == "inconclusive")
print(f"A/A: {len(aa)} runs, {len(decisions)} gate decisions, {false} false alarms ({100*false/max(1,len(decisions)):.1f}%), "
      f"{inconclusive} inconclusive, {suspected} screened-then-cleared, {unconfirmed} calibrated shifts the server time contradicted")
lat = load("latency")
v = verdicts(lat, "write")
hit = sum(1 for x in v if x[0] == "regressed")
slow = [1/o["speedup"]["estimate"] for r in lat for s in r["scenarios"] for o in s["operations"] if o["name"] == "write" and o["speedup"]]
slow_txt = f"measured after/before {min(slow):.2f}–{max(slow):.2f}× (median {sorted(slow)[len(slow)//2]:.2f}×)" if slow else ""
from collections import Counter
by = Counter(i for x in v if x[0] == "regressed" for i in set(x[1]) if i not in ("latency-suspected", "latency-unconfirmed"))
print(f"latency (+~25% on write): {len(v)} runs, detected {hit} ({100*hit/max(1,len(v)):.0f}%) by {dict(by)}; {slow_txt}")
plan = load("plan")
v = verdicts(plan, "lookup")
hit = sum(1 for x in v if x[0] == "regressed" and "plan-changed" in x[1])
print(f"plan (index dropped): {len(v)} runs, plan-changed caught {hit} ({100*hit/max(1,len(v)):.0f}%)")
PY
