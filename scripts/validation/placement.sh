#!/usr/bin/env bash
# CPU placement and round trip, measured (docs/method.md, "Where the processes run").
#   scripts/validation/placement.sh [RUNS] [PLACEMENTS]     (default 4, "shared split free")
# For each placement: RUNS A/A runs of scripts/validation/gate.toml (no-op migration) on the
# local backend, interleaved across placements, and prints per placement: the spread of the A/A
# speedups (end to end and server), the calibration's client latency, server time and round trip.
# Then pgbench's `SELECT 1` on a server started the same way (pinned with taskset), for reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-4}; placements=${2:-shared split free}
work=$(mktemp -d /tmp/qg-placement.XXXXXX)
# The release build, or $QUERYGATE_BIN when set (another build, e.g. for a before/after).
if [ -n "${QUERYGATE_BIN:-}" ]; then cp "$QUERYGATE_BIN" "$work/querygate"
else cargo build --release -q; cp target/release/querygate "$work/querygate"; fi
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
cp scripts/validation/{gate.toml,schema.sql,seed.sql} "$work/"
cp scripts/validation/noop.sql "$work/migration.sql"
for i in $(seq 1 "$runs"); do
    for p in $placements; do
        "$work/querygate" run "$work/gate.toml" --backend local --placement "$p" \
            --out "$work/$p-$i.json" --format json -q >/dev/null || true
    done
done
python3 - "$work" "$placements" <<'PY'
import glob, json, statistics, sys
work, placements = sys.argv[1], sys.argv[2].split()
for p in placements:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/{p}-*.json"))]
    print(f"== {p}: {len(rs)} A/A runs ({rs[0]['environment'].get('placement') if rs else '?'})")
    for name in ["lookup", "write"]:
        ops = [o for r in rs for s in r["scenarios"] for o in s["operations"] if o["name"] == name]
        e2e = [o["speedup"]["estimate"] for o in ops if o.get("speedup")]
        srv = [o["server_speedup"]["estimate"] for o in ops if o.get("server_speedup")]
        width = [o["speedup"]["high"] / o["speedup"]["low"] for o in ops if o.get("speedup")]
        p50 = [o["after"]["latency"]["p50_us"] for o in ops]
        share = [o["after"]["server"]["round_trip_share"] for o in ops if o["after"].get("server")]
        fmt = lambda v: f"{min(v):.3f}–{max(v):.3f}" if v else "–"
        print(f"  {name:7s} A/A speedup {fmt(e2e)} (CI width ×{statistics.median(width):.3f}); "
              f"server speedup {fmt(srv)}; after p50 {statistics.median(p50):.1f} µs; "
              f"round-trip share {statistics.median(share) if share else float('nan'):.2f}")
    cal = [s["calibration"] for r in rs for s in r["scenarios"] if s.get("calibration")]
    cl = [statistics.median(c["round_p50_us"]) for c in cal]
    sv = [statistics.median(c["server_round_us"]) for c in cal if c.get("server_round_us")]
    rt = [c["round_trip_us"] for c in cal if c.get("round_trip_us") is not None]
    print(f"  SELECT 1: client p50 {statistics.median(cl):.1f} µs, server {statistics.median(sv) if sv else float('nan'):.1f} µs, "
          f"round trip {statistics.median(rt) if rt else float('nan'):.1f} µs (medians over runs)")
PY

# pgbench SELECT 1 over TCP loopback with the same placements, on a server pinned like querygate's.
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
run_as=(); [ "$(id -u)" -eq 0 ] && { chown -R postgres "$work"; run_as=(runuser -u postgres --); }
last=$(( $(nproc) - 1 ))
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${run_as[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust --no-sync >/dev/null
stop() { "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; }
trap 'stop; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo 'SELECT 1;' > "$work/one.sql"
for p in $placements; do
    case $p in free) srv=(); cli=();; shared) srv=(taskset -c "$last"); cli=(taskset -c "$last");;
                     split) srv=(taskset -c "$last"); cli=(taskset -c 0);; esac
    "${srv[@]}" "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
    lat=$("${cli[@]}" pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c 1 -T 5 -f "$work/one.sql" postgres 2>/dev/null | awk '/latency average/ {print $4}')
    echo "pgbench SELECT 1, $p: latency average ${lat} ms"
    stop
done
