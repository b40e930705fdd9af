#!/usr/bin/env bash
# The cross-run gate's false-alarm rate over time, as issue 11 asks for it: A/A runs (a no-op
# migration) against one baseline, spread over MINUTES, with background CPU load switched on and
# off in phases of PHASE_S seconds (default 600: none, one busy loop, none, two busy loops, …), then the
# latency (+~25%, no plan change) and plan (dropped index) detection runs.
# Usage: scripts/validate-gate-campaign.sh [MINUTES] [M_LATENCY] [K_PLAN]
# PAUSE=S seconds between A/A runs (default 8); QUERYGATE_BIN as for validate-gate.sh.
# Prints validate-gate.sh's summary and the false alarms per phase.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-60}; m_lat=${2:-20}; k_plan=${3:-3}
phase_s=${PHASE_S:-600}; pause=${PAUSE:-8}
# About 5 s per run on a 2-core machine, plus the pause.
n_aa=$(( minutes * 60 / (5 + pause) ))
log=$(mktemp /tmp/qg-campaign.XXXXXX)
busy=()
stop_busy() { for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done; busy=(); }
schedule() { # the background load, phase by phase, until killed
    local phase=0
    while true; do
        local loops=$(( phase % 2 == 0 ? 0 : (phase % 4 == 1 ? 1 : 2) ))
        stop_busy
        for _ in $(seq 1 "$loops"); do python3 -c 'while True: pass' & busy+=($!); done
        echo "$(date +%H:%M:%S) phase $phase busy $loops" >> "$log"
        sleep "$phase_s" &
        wait $! || true
        phase=$(( phase + 1 ))
    done
}
trap 'stop_busy; exit 0' TERM
schedule &
scheduler=$!
trap 'kill $scheduler 2>/dev/null; pkill -P $scheduler 2>/dev/null; rm -f "$log"' EXIT
out=$(KEEP=1 AA_PAUSE=$pause scripts/validate-gate.sh "$n_aa" 0 0 2>&1)
kill $scheduler 2>/dev/null || true; pkill -P $scheduler 2>/dev/null || true; sleep 1
pkill -f "python3 -c while True: pass" 2>/dev/null || true
echo "$out"
work=$(echo "$out" | sed -n 's/^keeping //p')
# Detection on a quiet machine (a fresh baseline).
m_out=$(KEEP=1 scripts/validate-gate.sh 0 "$m_lat" "$k_plan" 2>&1); echo "$m_out" | tail -2
python3 - "$work" "$log" <<'PY'
import json, sys, bisect
work, log = sys.argv[1], sys.argv[2]
def secs(t):
    h, m, s = map(int, t.split(":")); return h * 3600 + m * 60 + s
phases = []
for line in open(log):
    t, _, p, _, b = line.split()
    phases.append((secs(t), int(p), int(b)))
starts = [p[0] for p in phases]
rows = {}
for line in open(f"{work}/times"):
    t, kind, i, _, load = line.split()
    if kind != "aa":
        continue
    k = bisect.bisect_right(starts, secs(t)) - 1
    busy = phases[max(k, 0)][2]
    r = json.load(open(f"{work}/aa-{i}.json"))
    ops = (r.get("gate") or {}).get("operations", [])
    row = rows.setdefault(busy, [0, 0, 0, 0.0])
    row[0] += 1; row[1] += len(ops); row[2] += sum(o["verdict"] == "regressed" for o in ops); row[3] += float(load)
print("busy loops | runs | decisions | false alarms | mean load")
for busy, (runs, dec, fa, load) in sorted(rows.items()):
    print(f"{busy} | {runs} | {dec} | {fa} ({100*fa/max(dec,1):.2f}%) | {load/max(runs,1):.2f}")
PY
rm -rf "$work"
