#!/usr/bin/env bash
# Is querygate's load generator fast and right enough? On one server and pgbench's read-only
# point query:
#  1. throughput, closed loop: querygate --clients N --threads 2 vs pgbench -M prepared -c N -j 2,
#     for N = 1, 4, 16 (goal: querygate >= 90% of pgbench);
#  2. latency at a fixed rate: querygate --rate R (Poisson arrivals, latency from the intended
#     start) vs pgbench -R R (latency from the scheduled start), p50/p90/p99 (goal: within 10%).
#   scripts/load-vs-pgbench.sh [SECONDS] [RATE] [REPEATS]      (defaults 15, 2000, 3)
# The two tools run alternately, so drift on a shared machine hits both alike.
# PARTS="throughput latency" and CLIENTS="1 4 16" (environment) choose what runs.
# pgbench waits for its schedule in poll()/select() timeouts, which Linux delays by the thread's
# timer slack (50 us by default); querygate waits on a timerfd, which has none. So that the
# comparison is of the two generators and not of that default, pgbench runs with a timer slack
# of PGBENCH_TIMER_SLACK_NS (default 1 ns; "default" leaves the kernel's 50 us). Throughput runs
# 2 threads (pgbench -j 2, querygate --threads 2) as the goal states; the latency part one thread
# per client on both (LATENCY_JOBS, default 4), so that neither tool's latency holds another
# client's turn on a shared thread.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
rate=${2:-2000}
reps=${3:-3}
parts=${PARTS:-throughput latency}
clients=${CLIENTS:-1 4 16}
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

# The release build, or $QUERYGATE_BIN when set (another build, e.g. for a before/after).
if [ -n "${QUERYGATE_BIN:-}" ]; then cp "$QUERYGATE_BIN" "$work/querygate"
else cargo build --release -q; cp target/release/querygate "$work/querygate"; fi
jobs=2
qg() { "$work/querygate" run scripts/load/point.toml --backend url --database-url "$url" --threads "$jobs" \
        --warmup 2s --duration "$((secs * 2))s" --out "$work/qg.json" --format json -q "$@" > /dev/null || true; }
slack=${PGBENCH_TIMER_SLACK_NS:-1}
slack_wrap=()
if [ "$slack" != default ]; then
    # prctl(PR_SET_TIMERSLACK): the slack is kept across execve, so pgbench's threads inherit it.
    slack_wrap=(python3 -c 'import ctypes, os, sys
if ctypes.CDLL(None).prctl(29, int(sys.argv[1]), 0, 0, 0) != 0: sys.exit("prctl(PR_SET_TIMERSLACK) failed")
os.execvp(sys.argv[2], sys.argv[2:])' "$slack")
fi
pgb() { (cd "$work" && "${slack_wrap[@]}" pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -j "$jobs" -T "$secs" -f point.sql "$@" bench 2>/dev/null); }

echo "machine: $(nproc) CPUs; $(uptime); pgbench timer slack: $slack ns"
if [[ " $parts " == *" throughput "* ]]; then
echo
echo "throughput, closed loop, ${secs} s each (querygate: ${secs} s per side, phases A B); ${reps} alternated repetition(s)"
printf '%8s %4s %14s %14s %8s\n' clients rep pgbench querygate ratio
for n in $clients; do
    for r in $(seq 1 "$reps"); do
        p=$(pgb -c "$n" | awk '/^tps = / {print $3}')
        qg --clients "$n" --rate 0
        q=$(python3 -c "import json; print(json.load(open('$work/qg.json'))['scenarios'][0]['load']['achieved_tps'])")
        python3 -c "print(f'{$n:8d} {$r:4d} {$p:14.0f} {$q:14.0f} {$q/$p:8.3f}')"
        echo "$n $p $q" >> "$work/tp"
    done
done
python3 - "$work/tp" <<'PY'
import sys, statistics
by = {}
for line in open(sys.argv[1]):
    n, p, q = line.split()
    by.setdefault(int(n), []).append(float(q) / float(p))
print("ratio querygate/pgbench, median of the repetitions: "
      + ", ".join(f"{n} client(s) {statistics.median(v):.3f}" for n, v in sorted(by.items())))
PY
fi

if [[ " $parts " == *" latency "* ]]; then
echo
jobs=${LATENCY_JOBS:-4}
echo "latency at ${rate}/s, 4 clients, $jobs threads each tool, Poisson arrivals, from the scheduled/intended start; ${reps} alternated repetition(s)"
printf '%10s %4s %9s %9s %9s\n' '' rep 'p50 us' 'p90 us' 'p99 us'
for r in $(seq 1 "$reps"); do
    rm -f "$work"/pgbench_log.*
    pgb -c 4 -R "$rate" -l > /dev/null
    # pgbench's per-transaction log: client tx time(us) script epoch epoch_us schedule_lag(us).
    # With -R, `time` already counts from the scheduled start (pgbench.c: latency = now -
    # txn_scheduled), lag included.
    cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n > "$work/pg_lat.$r"
    # Service time (actual start to end) = time - schedule_lag.
    cat "$work"/pgbench_log.* | awk '{print $3 - $7}' | sort -n > "$work/pg_svc.$r"
    qg --clients 4 --rate "$rate"
    cp "$work/qg.json" "$work/qg_lat.$r.json"
done
python3 - "$work" "$reps" <<'PY'
import json, sys, statistics
work, reps = sys.argv[1], int(sys.argv[2])
ratios = {k: [] for k in ('p50', 'p90', 'p99')}
svc_ratios = {k: [] for k in ('p50', 'p90', 'p99')}
def pct(path):
    v = [float(x) for x in open(path)]
    q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
    return {'p50': q(.50), 'p90': q(.90), 'p99': q(.99)}
for r in range(1, reps + 1):
    pg, pgs = pct(f"{work}/pg_lat.{r}"), pct(f"{work}/pg_svc.{r}")
    load = json.load(open(f"{work}/qg_lat.{r}.json"))['scenarios'][0]['load']
    before = load['operations'][0]['before']
    qg = {k: before['latency'][f"{k}_us"] for k in ratios}
    qgs = {k: before['service'][f"{k}_us"] for k in ratios}
    print(f"{'pgbench':>10} {r:4d} {pg['p50']:9.0f} {pg['p90']:9.0f} {pg['p99']:9.0f}   service {pgs['p50']:6.0f} {pgs['p90']:6.0f} {pgs['p99']:6.0f}")
    print(f"{'querygate':>10} {r:4d} {qg['p50']:9.0f} {qg['p90']:9.0f} {qg['p99']:9.0f}   service {qgs['p50']:6.0f} {qgs['p90']:6.0f} {qgs['p99']:6.0f}  {load['achieved_tps']:.0f}/s"
          + (" SATURATED" if load['saturated'] else ""))
    for k in ratios:
        ratios[k].append(qg[k] / pg[k])
        svc_ratios[k].append(qgs[k] / pgs[k])
print("ratio querygate/pgbench, median of the repetitions: "
      + " ".join(f"{k} {statistics.median(v):.3f}" for k, v in ratios.items())
      + "; service time (actual start to end): "
      + " ".join(f"{k} {statistics.median(v):.3f}" for k, v in svc_ratios.items()))

# Pooled over all repetitions: every pgbench transaction, and querygate's histograms added. A
# machine hiccup then weighs by how long it lasted, not by which tool's repetition it fell in.
import base64, math, struct, zlib
def hdr_counts(b64):
    """{value_ns: count} of a V2 + DEFLATE HdrHistogram (the results file's histogram_ns_v2z)."""
    raw = base64.b64decode(b64)
    cookie, n = struct.unpack(">ii", raw[:8])
    assert cookie & ~0xF0 == 0x1C849304, hex(cookie)  # the low byte's 0x10: 8-byte word size
    d = zlib.decompress(raw[8:8 + n])
    cookie, length, _offset, sig, lowest, _highest, _ratio = struct.unpack(">iiiiqqd", d[:40])
    assert cookie & ~0xF0 == 0x1C849303, hex(cookie)
    half_mag = max(math.ceil(math.log2(2 * 10 ** sig)), 1) - 1
    half = 1 << half_mag
    unit = int(math.floor(math.log2(lowest)))
    def value(i):
        bucket = (i >> half_mag) - 1
        sub = (i & (half - 1)) + half
        if bucket < 0:
            sub, bucket = sub - half, 0
        return sub << (bucket + unit)
    out, i, pos, end = {}, 0, 40, 40 + length
    while pos < end:
        shift, v = 0, 0
        for k in range(9):
            b = d[pos]; pos += 1
            if k == 8:
                v |= b << 56
                break
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        v = (v >> 1) ^ -(v & 1)
        if v < 0:
            i += -v
        else:
            if v:
                out[value(i)] = out.get(value(i), 0) + v
            i += 1
    return out
def pooled_pct(pairs):
    total = sum(c for _, c in pairs)
    res, seen, qs = {}, 0, [('p50', .50), ('p90', .90), ('p99', .99)]
    for v, c in sorted(pairs):
        seen += c
        for k, q in qs:
            if k not in res and seen >= q * total:
                res[k] = v
    return res
pg_all = pooled_pct([(float(x), 1) for r in range(1, reps + 1) for x in open(f"{work}/pg_lat.{r}")])
qg_hist = {}
for r in range(1, reps + 1):
    side = json.load(open(f"{work}/qg_lat.{r}.json"))['scenarios'][0]['load']['operations'][0]['before']
    for v, c in hdr_counts(side['histogram_ns_v2z']).items():
        qg_hist[v / 1000] = qg_hist.get(v / 1000, 0) + c
qg_all = pooled_pct(list(qg_hist.items()))
print("pooled over the repetitions, us: pgbench "
      + " ".join(f"{k} {pg_all[k]:.0f}" for k in ratios) + "; querygate "
      + " ".join(f"{k} {qg_all[k]:.0f}" for k in ratios) + "; ratio "
      + " ".join(f"{k} {qg_all[k] / pg_all[k]:.3f}" for k in ratios))
PY
fi
echo "after: $(uptime)"
