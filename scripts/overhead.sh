#!/usr/bin/env bash
# Harness overhead: the same prepared point query through querygate and through
# `pgbench -M prepared`, on one server, in one run, interleaved (pgbench, querygate, pgbench, …).
# Prints each p50, the paired ratio querygate / pgbench per repeat, and their median. Goal: <= 1.05.
#   scripts/overhead.sh [REPEATS]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/qg-overhead.XXXXXX)
chmod 755 "$work"
run_as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; run_as=(runuser -u postgres --); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"${run_as[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust --no-sync -E UTF8 --no-locale >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "-p $port -k $work -c listen_addresses=127.0.0.1 \
  -c jit=off -c max_parallel_workers_per_gather=0 -c autovacuum=off -c fsync=off -c synchronous_commit=off \
  -c shared_buffers=512MB -c track_io_timing=on" start >/dev/null
url="postgres://postgres@127.0.0.1:$port/postgres"

# pgbench's database: the same schema and seed, the same query.
psql -q "$url" -c "CREATE DATABASE bench"
psql -q "postgres://postgres@127.0.0.1:$port/bench" -f scripts/overhead/point_schema.sql
sed 's/:scale/100000/' scripts/overhead/point_seed.sql | psql -q "postgres://postgres@127.0.0.1:$port/bench"
psql -q "postgres://postgres@127.0.0.1:$port/bench" -c "VACUUM ANALYZE"
printf '\\set aid random(1, 100000)\nSELECT abalance FROM accounts WHERE aid = :aid;\n' > "$work/point.sql"

cargo build --release -q
cp target/release/querygate "$work/querygate"
pg_p50=(); qg_p50=()
for i in $(seq 1 "$repeats"); do
    rm -f "$work"/pgbench_log.*
    (cd "$work" && pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c 1 -j 1 -T 10 -f point.sql -l bench >/dev/null 2>&1)
    p=$(cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    pg_p50+=("$p")
    "$work/querygate" run scripts/overhead/point.toml --backend url --database-url "$url" \
        --out "$work/qg.json" --format json -q > /dev/null || true
    q=$(python3 -c "import json,sys; r=json.load(open('$work/qg.json')); o=r['scenarios'][0]['operations'][0]; print((o['before']['latency']['p50_us']+o['after']['latency']['p50_us'])/2)")
    qg_p50+=("$q")
    echo "repeat $i: pgbench p50 ${p} us, querygate p50 ${q} us"
done
python3 - "${pg_p50[*]}" "${qg_p50[*]}" <<'PY'
import statistics, sys
pg = [float(x) for x in sys.argv[1].split()]
qg = [float(x) for x in sys.argv[2].split()]
ratios = [q / p for p, q in zip(pg, qg)]
print(f"pgbench -M prepared p50 per repeat (us): {' '.join(f'{x:.1f}' for x in pg)}")
print(f"querygate           p50 per repeat (us): {' '.join(f'{x:.1f}' for x in qg)}")
print(f"ratio querygate / pgbench per repeat:    {' '.join(f'{x:.3f}' for x in ratios)}")
print(f"median ratio (paired, {len(ratios)} repeats): {statistics.median(ratios):.3f}")
PY
