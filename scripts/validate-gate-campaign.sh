#!/usr/bin/env bash
# The cross-run gate's false-alarm rate over time, as issue 11 asks for it: A/A runs (a no-op
# migration) against one baseline, spread over MINUTES, with background CPU load switched on and
# off in phases of PHASE_S seconds (default 600: none, one busy loop, none, two busy loops, …), then the
# latency (+~25%, no plan change) and plan (dropped index) detection runs.
# Usage: scripts/validate-gate-campaign.sh [MINUTES] [M_LATENCY] [K_PLAN]
# PAUSE=S seconds between A/A runs (default 8); QUERYGATE_BIN as for validate-gate.sh.
# LOAD=postgres replaces the busy loops with another PostgreSQL server pinned to the CPU that
# querygate's server is pinned to (the last one), under `pgbench -S` with one or two clients: its
# backends wake up thousands of times a second and preempt the measured backend mid-execution —
# the contention that once made 8 of 400 decisions false alarms.
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
load=${LOAD:-busy}
if [ "$load" = postgres ]; then
    # A second cluster, started and pinned to the last CPU as the bench scripts start theirs
    # (scripts/lib/bench.sh: start_local, pin_server; bench_cleanup stops it).
    source scripts/lib/bench.sh
    start_local
    pin_server "$cpu"
    load_url="postgres://postgres@127.0.0.1:$port/postgres"
    pgbench -q -i -s 10 "$load_url" >/dev/null 2>&1
fi
stop_load_server() { [ "$load" != postgres ] || bench_cleanup; }
start_load() { # $1: intensity (busy loops, or pgbench clients)
    [ "$1" -gt 0 ] || return 0
    if [ "$load" = postgres ]; then
        pgbench -n -S -c "$1" -j "$1" -T $(( phase_s + 5 )) "$load_url" >/dev/null 2>&1 & busy+=($!)
    else
        for _ in $(seq 1 "$1"); do python3 -c 'while True: pass' & busy+=($!); done
    fi
}
schedule() { # the background load, phase by phase, until killed
    local phase=0
    while true; do
        local loops=$(( phase % 2 == 0 ? 0 : (phase % 4 == 1 ? 1 : 2) ))
        stop_busy
        start_load "$loops"
        echo "$(date +%H:%M:%S) phase $phase busy $loops" >> "$log"
        sleep "$phase_s" &
        wait $! || true
        phase=$(( phase + 1 ))
    done
}
trap 'stop_busy; exit 0' TERM
schedule &
scheduler=$!
# Every step may fail (the scheduler gone already): none may stop the cleanup under `set -e`.
trap 'kill $scheduler 2>/dev/null || true; pkill -P $scheduler 2>/dev/null || true; stop_load_server; rm -f "$log"; rm -rf "${aa_work:-}"' EXIT
out=$(KEEP=1 AA_PAUSE=$pause scripts/validate-gate.sh "$n_aa" 0 0 2>&1)
kill $scheduler 2>/dev/null || true; pkill -P $scheduler 2>/dev/null || true; sleep 1
pkill -f "python3 -c while True: pass" 2>/dev/null || true
pkill -f "pgbench -n -S" 2>/dev/null || true
echo "$out"
aa_work=$(echo "$out" | sed -n 's/^keeping //p')
# Detection on a quiet machine (a fresh baseline).
m_out=$(KEEP=1 scripts/validate-gate.sh 0 "$m_lat" "$k_plan" 2>&1); echo "$m_out" | tail -2
rm -rf "$(echo "$m_out" | sed -n 's/^keeping //p')"
python3 - "$aa_work" "$log" "$load" <<'PY'
import json, os, sys, bisect
work, log, load_kind = sys.argv[1], sys.argv[2], sys.argv[3]
def secs(t):
    h, m, s = map(int, t.split(":")); return h * 3600 + m * 60 + s
phases = []
for line in open(log):
    t, _, p, _, b = line.split()
    phases.append((secs(t), int(p), int(b)))
starts = [p[0] for p in phases]
rows = {}
for line in (open(f"{work}/times") if os.path.exists(f"{work}/times") else []):
    t, kind, i, _, load = line.split()
    if kind != "aa":
        continue
    k = bisect.bisect_right(starts, secs(t)) - 1
    busy = phases[max(k, 0)][2]
    r = json.load(open(f"{work}/aa-{i}.json"))
    ops = (r.get("gate") or {}).get("operations", [])
    row = rows.setdefault(busy, [0, 0, 0, 0.0])
    row[0] += 1; row[1] += len(ops); row[2] += sum(o["verdict"] == "regressed" for o in ops); row[3] += float(load)
print(f"{'pgbench clients' if load_kind == 'postgres' else 'busy loops'} | runs | decisions | false alarms | mean load")
for busy, (runs, dec, fa, load) in sorted(rows.items()):
    print(f"{busy} | {runs} | {dec} | {fa} ({100*fa/max(dec,1):.2f}%) | {load/max(runs,1):.2f}")
PY
