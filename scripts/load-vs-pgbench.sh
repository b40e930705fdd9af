#!/usr/bin/env bash
# Is querygate's load generator fast and right enough? On one server and pgbench's read-only
# point query:
#  1. throughput, closed loop: querygate --clients N --threads 2 vs pgbench -M prepared -c N -j 2,
#     for N = 1, 4, 16 (goal: querygate >= 90% of pgbench);
#  2. latency at a fixed rate: querygate --rate R (Poisson arrivals, latency from the intended
#     start) vs pgbench -R R (latency from the scheduled start), p50/p90/p99 (goal: within 10%).
#   scripts/load-vs-pgbench.sh [SECONDS] [RATE]      (defaults 15, 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
rate=${2:-2000}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/qg-loadbench.XXXXXX)
chmod 755 "$work"
run_as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; run_as=(runuser -u postgres --); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"${run_as[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust --no-sync -E UTF8 --no-locale >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "-p $port -k $work -c listen_addresses=127.0.0.1 \
  -c jit=off -c max_parallel_workers_per_gather=0 -c autovacuum=off -c fsync=off -c synchronous_commit=off \
  -c shared_buffers=512MB -c max_connections=200" start >/dev/null
url="postgres://postgres@127.0.0.1:$port/postgres"

psql -q "$url" -c "CREATE DATABASE bench"
psql -q "postgres://postgres@127.0.0.1:$port/bench" -f scripts/overhead/point_schema.sql
sed 's/:scale/100000/' scripts/overhead/point_seed.sql | psql -q "postgres://postgres@127.0.0.1:$port/bench"
psql -q "postgres://postgres@127.0.0.1:$port/bench" -c "VACUUM ANALYZE"
printf '\\set aid random(1, 100000)\nSELECT abalance FROM accounts WHERE aid = :aid;\n' > "$work/point.sql"

cargo build --release -q
cp target/release/querygate "$work/querygate"
qg() { "$work/querygate" run scripts/load/point.toml --backend url --database-url "$url" --threads 2 \
        --warmup 2s --duration "$((secs * 2))s" --out "$work/qg.json" --format json -q "$@" > /dev/null || true; }
pgb() { (cd "$work" && pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -j 2 -T "$secs" -f point.sql "$@" bench 2>/dev/null); }

echo "throughput, closed loop, ${secs} s each (querygate: ${secs} s per side, phases A B)"
printf '%8s %14s %14s %8s\n' clients pgbench querygate ratio
for n in 1 4 16; do
    p=$(pgb -c "$n" | awk '/^tps = / {print $3}')
    qg --clients "$n" --rate 0
    q=$(python3 -c "import json; print(json.load(open('$work/qg.json'))['scenarios'][0]['load']['achieved_tps'])")
    python3 -c "print(f'{$n:8d} {$p:14.0f} {$q:14.0f} {$q/$p:8.3f}')"
done

echo
echo "latency at ${rate}/s, 4 clients, Poisson arrivals, from the scheduled/intended start"
rm -f "$work"/pgbench_log.*
pgb -c 4 -R "$rate" -l > /dev/null
# pgbench log: client tx time(us) script epoch epoch_us schedule_lag(us); latency from the
# scheduled start is time + lag.
cat "$work"/pgbench_log.* | awk '{print $3 + $7}' | sort -n > "$work/pg_lat"
qg --clients 4 --rate "$rate"
python3 - "$work/pg_lat" "$work/qg.json" <<'PY'
import json, sys
lat = [float(x) for x in open(sys.argv[1])]
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
load = json.load(open(sys.argv[2]))['scenarios'][0]['load']
side = load['operations'][0]['before']['latency']
print(f"{'':10} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9}  executions/s")
print(f"{'pgbench':10} {q(.50):9.0f} {q(.90):9.0f} {q(.99):9.0f}")
print(f"{'querygate':10} {side['p50_us']:9.0f} {side['p90_us']:9.0f} {side['p99_us']:9.0f}  {load['achieved_tps']:.0f}/s"
      + (" SATURATED" if load['saturated'] else ""))
print("ratio      " + " ".join(f"{a/b:9.3f}" for a, b in [(side['p50_us'], q(.50)), (side['p90_us'], q(.90)), (side['p99_us'], q(.99))]))
PY
