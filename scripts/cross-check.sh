#!/usr/bin/env bash
# Cross-check: does querygate's speedup agree with pgbench's? Three query shapes (≈10 µs,
# ≈100 µs, ≈1–10 ms per execution; scripts/cross-check/cross.toml) before and after an index
# change, on one server with identical data (the same deterministic seed), measured with
# `pgbench -M prepared -c 1` and with querygate, interleaved, on each backend's transport and
# placement (scripts/lib/bench.sh). Prints per backend and shape both tools' p50s, their
# speedups (p50 before / p50 after), and the ratio querygate / pgbench (target: 0.90–1.10).
# When a report carries a server-time speedup (`server_speedup`), it is printed too.
#   scripts/cross-check.sh [REPEATS] [BACKEND…]   (default 2; local local-unix url docker)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
shift || true
source scripts/lib/bench.sh
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=("${BENCH_BACKENDS[@]}")
seconds=${CROSS_CHECK_SECONDS:-5}   # per pgbench measurement
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

run_pgbench_all() { # appends "backend repeat shape side p50" lines to $work/pg.txt
    for shape in "${shapes[@]}"; do
        for side in before after; do
            echo "$backend $1 $shape $side $(pgbench_p50 "$(with_db "$url" "qg_xc_$side")" "$shape.sql" "$seconds")" >> "$work/pg.txt"
        done
    done
}

run_querygate_once() { # keeps the report as $work/qg.<backend>.<repeat>.json
    run_querygate "$1"
    cp "$work/qg.json" "$work/qg.$backend.$2.json"
}

: > "$work/pg.txt"
for backend in "${backends[@]}"; do
    use_backend "$backend"
    scenario=$(scenario_for_backend scripts/cross-check/cross.toml)
    make_bench_dbs
    echo "== $backend (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for i in $(seq 1 "$repeats"); do
        if [ $((i % 2)) -eq 1 ]; then run_pgbench_all "$i"; run_querygate_once "$scenario" "$i"
        else run_querygate_once "$scenario" "$i"; run_pgbench_all "$i"; fi
        echo "repeat $i done (load $(load_average))"
        if [ -n "${CROSS_CHECK_DEBUG:-}" ]; then
            tail -6 "$work/pg.txt"
            psql -q "$(with_db "$url" qg_xc_after)" -Atc "select indexrelname, idx_scan from pg_stat_user_indexes"
        fi
    done
    psql -q "$url" -c "DROP DATABASE qg_xc_before" -c "DROP DATABASE qg_xc_after" >/dev/null 2>&1 || true
done

python3 - "$work" "${backends[*]}" "$repeats" <<'PY'
import json, statistics, sys
work, backends, repeats = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
pg = {}
for line in open(f"{work}/pg.txt"):
    b, r, shape, side, p50 = line.split()
    pg[(b, int(r), shape, side)] = float(p50)
print("speedup = p50 before / p50 after; ratio = querygate speedup / pgbench speedup (target 0.90-1.10)")
print(f"{'backend':<11} {'shape':<15} {'pgbench p50 us':>17} {'pg speedup':>10} {'querygate p50 us':>19} "
      f"{'qg speedup':>10} {'ratio (range)':>22} {'qg HL speedup':>13} {'server speedup':>14}")
for b in backends:
    reports = [json.load(open(f"{work}/qg.{b}.{r}.json")) for r in range(1, repeats + 1)]
    for shape in ["open_orders", "customer_total", "day_total"]:
        rows = []
        for r, rep in enumerate(reports, 1):
            op = next(o for o in rep["scenarios"][0]["operations"] if o["name"] == shape)
            qb, qa = op["before"]["latency"]["p50_us"], op["after"]["latency"]["p50_us"]
            pb, pa = pg[(b, r, shape, "before")], pg[(b, r, shape, "after")]
            server = op.get("server_speedup") or {}
            rows.append((pb, pa, qb, qa, (op.get("speedup") or {}).get("estimate"),
                         server.get("estimate") if isinstance(server, dict) else server))
        med = lambda xs: statistics.median(xs)
        ratios = [(qb / qa) / (pb / pa) for pb, pa, qb, qa, _, _ in rows]
        pb, pa, qb, qa = (med([x[i] for x in rows]) for i in range(4))
        hl = [x[4] for x in rows if x[4] is not None]
        sv = [x[5] for x in rows if x[5] is not None]
        print(f"{b:<11} {shape:<15} {pb:8.1f}/{pa:8.1f} {pb / pa:10.2f} {qb:9.1f}/{qa:9.1f} {qb / qa:10.2f} "
              f"{med(ratios):8.3f} ({min(ratios):.3f}-{max(ratios):.3f}) "
              f"{(f'{med(hl):.2f}' if hl else '-'):>13} {(f'{med(sv):.2f}' if sv else '-'):>14}")
PY
