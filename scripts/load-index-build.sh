#!/usr/bin/env bash
# A plain CREATE INDEX vs CREATE INDEX CONCURRENTLY on a 2-million-row table under 1000
# executions/s of writes and reads (8 clients), local backend. Prints each migration's duration,
# the locks it held, who waited, and the writers' latency before and during the migration.
#   scripts/load-index-build.sh [SCALE]      (default 2000000)
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-2000000}
cargo build --release -q
work=$(mktemp -d /tmp/qg-indexbuild.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp target/release/querygate "$work/querygate"
for s in index_plain index_concurrently; do
    "$work/querygate" run "scripts/load/$s.toml" --backend local --scale "$scale" --out "$work/$s.json" -q > "$work/$s.txt" || true
    python3 - "$work/$s.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r['scenarios'][0]
l, m = s['load'], s['load']['migration']
print(f"== {s['name']} (scale {s['scale']}): migration {m['duration_ms']:.0f} ms")
for st in m['statements']:
    print(f"   {st['duration_ms']:9.1f} ms  {st['sql']}")
for h in m['locks_held']:
    print(f"   held {h['mode']} on {h['relation']} for {h['held_ms']:.0f} ms")
for f in m['findings']:
    print(f"   {f}")
for o in l['operations']:
    st, w = o['steady']['latency'], o['window']['latency']
    print(f"   {o['name']:6} steady p99 {st['p99_us']/1000:8.2f} ms max {st['max_us']/1000:8.2f} ms | "
          f"during migration p99 {w['p99_us']/1000:8.2f} ms max {w['max_us']/1000:8.2f} ms ({w['count']} executions)")
for c in l['claims']:
    print(f"   claim `{c['claim']}`: {c['verdict']} — {c['reason']}")
print(f"   achieved {l['achieved_tps']:.0f}/s" + (" SATURATED: " + l['saturation'] if l['saturated'] else ""))
PY
done
