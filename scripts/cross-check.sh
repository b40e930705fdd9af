#!/usr/bin/env bash
# Cross-check: does querygate's speedup agree with pgbench's? Three query shapes (≈10 µs,
# ≈100 µs, ≈1–10 ms per execution; scripts/cross-check/cross.toml) before and after an index
# change, on one server with identical data (the same deterministic seed), measured with
# `pgbench -M prepared -c 1` and with querygate, interleaved, on each backend's transport and
# placement (scripts/lib/bench.sh). Prints per backend and shape both tools' p50s, their
# speedups (p50 before / p50 after), and the ratio querygate / pgbench (target: 0.90–1.10).
# pgbench alternates the two sides in one-second slices (see run_pgbench_all). When a report
# carries a server-time speedup (`server_speedup`), it is printed too, and at the end its spread
# across backends (target: within ±10%; every backend runs the same PostgreSQL major version).
#   scripts/cross-check.sh [REPEATS] [BACKEND…]   (default 2; local local-unix url docker)
# CROSS_CHECK_SECONDS (default 6) and CROSS_CHECK_SLICES (6): pgbench's seconds per side and the
# slices they are cut into; QG_BENCH_IMAGE: the docker backend's image.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
shift || true
source scripts/lib/bench.sh
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=("${BENCH_BACKENDS[@]}")
seconds=${CROSS_CHECK_SECONDS:-6}   # per pgbench measurement and side
slices=${CROSS_CHECK_SLICES:-6}     # alternating slices those seconds are cut into
scale=200000
customers=2000

build_querygate
# The statements of cross.toml, as pgbench scripts (pgbench numbers its :variables $1, $2, …).
cat > "$work/open_orders.sql" <<EOF
\\set c random(1, $customers)
SELECT id, amount FROM orders WHERE customer_id = :c AND status = 'open';
EOF
cat > "$work/customer_total.sql" <<EOF
\\set c random(1, $customers)
SELECT sum(amount) FROM orders WHERE customer_id = :c;
EOF
cat > "$work/day_total.sql" <<EOF
\\set d random(0, 270)
SELECT count(*), sum(amount) FROM orders WHERE day = :d;
EOF
shapes=(open_orders customer_total day_total)

# pgbench's databases: schema, seed, and the index change on "after"; then, as querygate does,
# VACUUM ANALYZE and CHECKPOINT. The seed commits durably, as querygate's does: with the servers'
# synchronous_commit = off, a VACUUM right after an unflushed commit cannot set hint bits, leaves
# no visibility map, and the planner then prefers a bitmap scan to the index-only scan.
make_bench_dbs() {
    local PGOPTIONS="-c synchronous_commit=on"
    export PGOPTIONS
    for side in before after; do
        psql -q "$url" -c "DROP DATABASE IF EXISTS qg_xc_$side" -c "CREATE DATABASE qg_xc_$side"
        local db
        db=$(with_db "$url" "qg_xc_$side")
        psql -q "$db" -v ON_ERROR_STOP=1 -f "$work/schema.sql"
        sed -e "s/:scale/$scale/g" -e "s/:customers/$customers/g" "$work/seed.sql" | psql -q -v ON_ERROR_STOP=1 "$db"
        [ "$side" = before ] || psql -q -v ON_ERROR_STOP=1 "$db" -f "$work/indexes.sql"
        psql -q "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    done
}

# pgbench runs each side in $slices one-second slices, alternating before and after (ABBA…), and
# pools each side's latencies: like querygate's interleaved rounds, so that the machine's drift
# over the seconds of a measurement (a sequential scan's p50 moved by 20–40% between
# consecutive 5-second runs here) lands on both sides rather than on one.
run_pgbench_all() { # $1 repeat, $2 pass: appends "backend repeat pass shape side p50" to $work/pg.txt
    local slice=$(( seconds / slices > 0 ? seconds / slices : 1 ))
    for shape in "${shapes[@]}"; do
        : > "$work/lat.before"; : > "$work/lat.after"
        for k in $(seq 1 "$slices"); do
            local order=(before after)
            [ $((k % 2)) -eq 1 ] || order=(after before)
            for side in "${order[@]}"; do
                pgbench_latencies "$(with_db "$url" "qg_xc_$side")" "$shape.sql" "$slice" "$work/lat.$side"
            done
        done
        for side in before after; do
            echo "$backend $1 $2 $shape $side $(p50_of "$work/lat.$side")" >> "$work/pg.txt"
        done
    done
}

run_querygate_once() { # keeps the report as $work/qg.<backend>.<repeat>.json
    run_querygate "$1"
    cp "$work/qg.json" "$work/qg.$backend.$2.json"
}

# Each repetition brackets querygate between two pgbench passes (pgbench, querygate, pgbench):
# the reference is their geometric mean, and the two passes' ratio is pgbench against itself a
# minute later — how far the machine's drift alone moves a speedup, the floor under which no
# agreement between two tools measured one after the other can be read.
: > "$work/pg.txt"
for backend in "${backends[@]}"; do
    use_backend "$backend"
    scenario=$(scenario_for_backend scripts/cross-check/cross.toml)
    make_bench_dbs
    echo "== $backend (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for i in $(seq 1 "$repeats"); do
        run_pgbench_all "$i" 1
        run_querygate_once "$scenario" "$i"
        run_pgbench_all "$i" 2
        echo "repeat $i done (load $(load_average))"
        if [ -n "${CROSS_CHECK_DEBUG:-}" ]; then
            tail -12 "$work/pg.txt"
            psql -q "$(with_db "$url" qg_xc_after)" -Atc "select indexrelname, idx_scan from pg_stat_user_indexes"
        fi
    done
    psql -q "$url" -c "DROP DATABASE qg_xc_before" -c "DROP DATABASE qg_xc_after" >/dev/null 2>&1 || true
done

python3 - "$work" "${backends[*]}" "$repeats" <<'PY'
import json, math, statistics, sys
work, backends, repeats = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
pg = {}
for line in open(f"{work}/pg.txt"):
    b, r, k, shape, side, p50 = line.split()
    pg[(b, int(r), int(k), shape, side)] = float(p50)
med = statistics.median
def rng(xs):
    return f"{med(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"
spread = {}
print("speedup = p50 before / p50 after; pgbench's is the geometric mean of the two passes around querygate;")
print("ratio = querygate speedup / pgbench speedup (target 0.90-1.10); pgbench A/A = pass 2 / pass 1 speedup")
print(f"{'backend':<11} {'shape':<15} {'pgbench p50 us':>17} {'pg speedup':>10} {'querygate p50 us':>19} "
      f"{'qg speedup':>10} {'ratio (range)':>22} {'pgbench A/A (range)':>22} {'qg HL speedup':>13} {'server speedup':>14}")
for b in backends:
    reports = [json.load(open(f"{work}/qg.{b}.{r}.json")) for r in range(1, repeats + 1)]
    for shape in ["open_orders", "customer_total", "day_total"]:
        rows = []
        for r, rep in enumerate(reports, 1):
            op = next(o for o in rep["scenarios"][0]["operations"] if o["name"] == shape)
            qb, qa = op["before"]["latency"]["p50_us"], op["after"]["latency"]["p50_us"]
            p = {(k, side): pg[(b, r, k, shape, side)] for k in (1, 2) for side in ("before", "after")}
            s1, s2 = p[(1, "before")] / p[(1, "after")], p[(2, "before")] / p[(2, "after")]
            pb = math.sqrt(p[(1, "before")] * p[(2, "before")])
            pa = math.sqrt(p[(1, "after")] * p[(2, "after")])
            sv = op.get("server_speedup") or {}
            rows.append(dict(pb=pb, pa=pa, qb=qb, qa=qa, ratio=(qb / qa) / math.sqrt(s1 * s2), aa=s2 / s1,
                             hl=(op.get("speedup") or {}).get("estimate"), sv=sv.get("estimate")))
        pb, pa, qb, qa = (med([x[k] for x in rows]) for k in ("pb", "pa", "qb", "qa"))
        hl = [x["hl"] for x in rows if x["hl"] is not None]
        sv = [x["sv"] for x in rows if x["sv"] is not None]
        print(f"{b:<11} {shape:<15} {pb:8.1f}/{pa:8.1f} {pb / pa:10.2f} {qb:9.1f}/{qa:9.1f} {qb / qa:10.2f} "
              f"{rng([x['ratio'] for x in rows]):>22} {rng([x['aa'] for x in rows]):>22} "
              f"{(f'{med(hl):.2f}' if hl else '-'):>13} {(f'{med(sv):.2f}' if sv else '-'):>14}")
        if sv:
            spread.setdefault(shape, {})[b] = med(sv)
print()
print("server speedup across backends: median per backend; spread = largest distance from the middle "
      "of the range (target within 10%)")
for shape, by_backend in spread.items():
    lo, hi = min(by_backend.values()), max(by_backend.values())
    mid = (lo + hi) / 2
    cells = ", ".join(f"{b} {v:.2f}" for b, v in by_backend.items())
    print(f"{shape:<15} {cells}  spread ±{100 * (hi - mid) / mid:.1f}%")
PY
