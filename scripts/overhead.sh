#!/usr/bin/env bash
# Harness overhead: the same prepared point query through querygate and through
# `pgbench -M prepared`, on one server, with the same transport and placement, interleaved
# (pgbench then querygate, then querygate then pgbench, …), per backend (scripts/lib/bench.sh
# says how each backend is reproduced). Prints each p50, the paired ratio querygate / pgbench
# per repeat, and per backend the median ratio with its range. Goal: median <= 1.05.
#   scripts/overhead.sh [REPEATS] [BACKEND…]      (default 3; local local-unix url docker)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
shift || true
source scripts/lib/bench.sh
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=("${BENCH_BACKENDS[@]}")

build_querygate
printf '\\set aid random(1, 100000)\nSELECT abalance FROM accounts WHERE aid = :aid;\n' > "$work/point.sql"

querygate_p50() { # the p50 of the measured side (an A/A scenario without a migration
    # measures one side: there is nothing to compare), the mean when both were measured
    run_querygate "$1"
    python3 -c "
import json
o = json.load(open('$work/qg.json'))['scenarios'][0]['operations'][0]
p = [o[s]['latency']['p50_us'] for s in ('before', 'after') if o[s]['latency']['count'] > 0]
print(sum(p) / len(p))"
}

summary=()
for backend in "${backends[@]}"; do
    use_backend "$backend"
    scenario=$(scenario_for_backend scripts/overhead/point.toml)
    # pgbench's database: the same schema, seed and query as querygate's scratch databases.
    psql -q "$url" -c "DROP DATABASE IF EXISTS qg_overhead_bench" -c "CREATE DATABASE qg_overhead_bench"
    bench=$(with_db "$url" qg_overhead_bench)
    psql -q "$bench" -f "$work/point_schema.sql"
    sed 's/:scale/100000/' "$work/point_seed.sql" | psql -q "$bench"
    psql -q "$bench" -c "VACUUM ANALYZE"
    echo "== $backend (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    pg=(); qg=()
    for i in $(seq 1 "$repeats"); do
        if [ $((i % 2)) -eq 1 ]; then
            p=$(pgbench_p50 "$bench" point.sql 10); q=$(querygate_p50 "$scenario")
        else
            q=$(querygate_p50 "$scenario"); p=$(pgbench_p50 "$bench" point.sql 10)
        fi
        pg+=("$p"); qg+=("$q")
        echo "repeat $i: pgbench p50 ${p} us, querygate p50 ${q} us (load $(load_average))"
    done
    psql -q "$url" -c "DROP DATABASE qg_overhead_bench" >/dev/null 2>&1 || true
    summary+=("$(python3 - "$backend" "${pg[*]}" "${qg[*]}" "$(load_average)" <<'PY'
import statistics, sys
name, load = sys.argv[1], sys.argv[4]
pg = [float(x) for x in sys.argv[2].split()]
qg = [float(x) for x in sys.argv[3].split()]
ratios = [q / p for p, q in zip(pg, qg)]
print(f"{name:<11} pgbench {statistics.median(pg):6.1f} us  querygate {statistics.median(qg):6.1f} us  "
      f"ratio {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}; "
      f"per repeat {' '.join(f'{r:.3f}' for r in ratios)})  load {load}")
PY
)")
    echo "${summary[-1]}"
done
echo
echo "querygate / pgbench -M prepared, p50 of a prepared point query, median of $repeats paired repeats (goal <= 1.05):"
printf '%s\n' "${summary[@]}"
