#!/usr/bin/env bash
# How precise is a phased before/after comparison under load, by number of phases? A/A runs
# (scripts/load/point.toml: no migration, so both sides are the same database state) of the
# point query, closed loop, phases of 2 s (1 s settle), local backend. For each number of
# phases: the 95% interval of the throughput ratio and of the p50 speedup, as half-widths
# (% of the estimate), and whether the interval contains 1 (an A/A run should).
#   scripts/load-phase-precision.sh [REPEATS] [CLIENTS] [PHASES…]   (defaults 3, 4, 4 8 16 32)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
clients=${2:-4}
shift $(( $# > 2 ? 2 : $# ))
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(4 8 16 32)
cargo build --release -q
work=$(mktemp -d /tmp/qg-phases.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp target/release/querygate "$work/querygate"
echo "A/A, point query, $clients clients closed loop, 2 s phases; $(uptime)"
printf '%6s %4s %22s %22s\n' phases run 'throughput ratio ±%' 'p50 speedup ±%'
for p in "${phases[@]}"; do
    for r in $(seq 1 "$repeats"); do
        "$work/querygate" run scripts/load/point.toml --backend local --clients "$clients" --rate 0 \
            --phases "$p" --duration "$((2 * p))s" --warmup 2s --out "$work/r.json" -q > /dev/null || true
        python3 - "$work/r.json" "$p" "$r" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))['scenarios'][0]
def cell(i):
    if not i:
        return f"{'–':>22}"
    half = (i['high'] - i['low']) / 2 / i['estimate'] * 100
    inside = 'yes' if i['low'] <= 1 <= i['high'] else 'NO'
    return f"{i['estimate']:6.3f} ±{half:5.1f}% 1∈CI {inside:>3}"
print(f"{sys.argv[2]:>6} {sys.argv[3]:>4} {cell(s['load']['throughput_ratio'])} {cell(s['operations'][0]['speedup'])}")
PY
    done
done
