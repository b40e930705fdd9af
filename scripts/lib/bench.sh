# Shared by scripts/overhead.sh and scripts/cross-check.sh (source it; needs bash, psql, pgbench,
# python3, and docker for the docker backend).
#
# Each "backend" reproduces how querygate's backend of that name places and connects to the
# server, on a server this script starts and shares with pgbench (querygate connects to it with
# --backend url, so both clients see the same server, data, transport and placement):
#   local       the server pinned to the last CPU and both clients to the first (querygate's
#               default `--placement split`), TCP loopback, connections kept for the whole run
#               (as --backend local); PLACEMENT=shared puts the clients on the server's CPU
#   local-unix  the same over the unix socket
#   url         no pinning, TCP loopback, a fresh connection each round (as --backend url);
#               with QG_BENCH_URL=postgres://… the server there instead (role needs CREATEDB)
#   docker      a container of the local server's major version (postgres:15 on Debian 12;
#               QG_BENCH_IMAGE=postgres:17 for another; built by scripts/build-pg-image.sh when
#               missing), so that every backend runs the same server; its bridge address,
#               SCRAM password authentication, the container limited to the last CPU and both
#               clients on the first, connections kept (as --backend docker)

BENCH_BACKENDS=(local local-unix url docker)
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
bench_image=${QG_BENCH_IMAGE:-postgres:$(basename "$(dirname "$bindir")")}
work=$(mktemp -d /tmp/qg-bench.XXXXXX)
chmod 755 "$work"
run_as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; run_as=(runuser -u postgres --); fi
cpu=$(( $(nproc) - 1 ))
all_cpus="0-$cpu"
container=""
postmaster=""
# The server settings querygate's own backends use (provision::pinned_settings).
# pg_stat_statements as querygate loads it on its own servers (server time; querygate reads it on a
# url server where the extension exists).
settings=(jit=off max_parallel_workers_per_gather=0 autovacuum=off fsync=off synchronous_commit=off
          full_page_writes=off shared_buffers=512MB track_io_timing=on max_wal_size=4GB
          shared_preload_libraries=pg_stat_statements pg_stat_statements.track=top
          pg_stat_statements.track_utility=on pg_stat_statements.track_planning=on)

bench_cleanup() {
    "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    [ -z "$container" ] || docker rm -f "$container" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap bench_cleanup EXIT INT TERM

# The release build, or $QUERYGATE_BIN when set (e.g. another commit's build, for a before/after).
build_querygate() {
    if [ -n "${QUERYGATE_BIN:-}" ]; then cp "$QUERYGATE_BIN" "$work/querygate"; return; fi
    cargo build --release -q
    cp target/release/querygate "$work/querygate"
}

start_local() {
    [ -d "$work/data" ] && return
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${run_as[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust --no-sync -E UTF8 --no-locale >/dev/null
    local flags="-p $port -k $work -c listen_addresses=127.0.0.1"
    for s in "${settings[@]}"; do flags="$flags -c $s"; done
    "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "$flags" start >/dev/null
    postmaster=$(head -1 "$work/data/postmaster.pid")
    psql -q "postgres://postgres@127.0.0.1:$port/postgres" -c "CREATE EXTENSION pg_stat_statements"
}

start_docker() {
    local password args=() ip
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    for s in "${settings[@]}"; do args+=(-c "$s"); done
    scripts/build-pg-image.sh "$bench_image" >&2
    container=qg-bench-$$
    docker run -d --rm --name "$container" --shm-size=1g -e POSTGRES_PASSWORD="$password" --cpuset-cpus "$cpu" \
        "$bench_image" "${args[@]}" >/dev/null
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$container")
    docker_url="postgres://postgres:$password@$ip:5432/postgres"
    for _ in $(seq 1 120); do
        # The image's init server listens on its socket only: wait for TCP.
        if psql -q "$docker_url" -c 'SELECT 1' >/dev/null 2>&1; then
            psql -q "$docker_url" -c "CREATE EXTENSION pg_stat_statements"
            return
        fi
        sleep 0.5
    done
    echo "the container did not accept connections" >&2
    exit 3
}

# Sets the local server's processes' CPUs (new backends inherit the postmaster's).
pin_server() {
    [ -z "$postmaster" ] || taskset -a -c -p "$1" "$postmaster" >/dev/null
}

# Sets `url` (querygate's --database-url), `prefix` (a command prefix placing the clients) and
# `keep` (true when the backend keeps its connections for the whole run) for backend $1.
use_backend() {
    prefix=()
    keep=false
    case $1 in
        local|local-unix)
            start_local
            pin_server "$cpu"
            if [ "${PLACEMENT:-split}" = shared ] || [ "$cpu" -eq 0 ]; then prefix=(taskset -c "$cpu")
            else prefix=(taskset -c 0); fi
            keep=true
            if [ "$1" = local ]; then url="postgres://postgres@127.0.0.1:$port/postgres"
            else url="postgres://postgres@localhost/postgres?host=$work&port=$port"; fi ;;
        url)
            if [ -n "${QG_BENCH_URL:-}" ]; then url=$QG_BENCH_URL
            else start_local; pin_server "$all_cpus"; url="postgres://postgres@127.0.0.1:$port/postgres"; fi ;;
        docker)
            [ -n "$container" ] || start_docker
            [ "$cpu" -eq 0 ] || prefix=(taskset -c 0)
            keep=true
            url=$docker_url ;;
        *) echo "unknown backend $1 (local, local-unix, url, docker)" >&2; exit 2 ;;
    esac
}

with_db() { # $1: URL, $2: database -> the URL naming that database
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

# A scenario copy for this backend: `[run] reconnect` as the backend would have it. $1: the
# scenario; its data files are copied beside it.
scenario_for_backend() {
    local dir name
    dir=$(dirname "$1"); name=$(basename "$1" .toml)
    cp "$dir"/*.sql "$work/"
    sed "/^\[run\]/a reconnect = $([ "$keep" = true ] && echo false || echo true)" "$1" > "$work/$name.$keep.toml"
    echo "$work/$name.$keep.toml"
}

# Appends to file $4 the latencies (µs) of `pgbench -M prepared -c 1` running script $2 for $3
# seconds on URL $1, placed by $prefix. pgbench logs whole microseconds.
pgbench_latencies() {
    rm -f "$work"/pgbench_log.*
    (cd "$work" && "${prefix[@]}" pgbench -n -M prepared -c 1 -j 1 -T "$3" -f "$2" -l "$1" >/dev/null 2>&1)
    cat "$work"/pgbench_log.* | awk '{print $3}' >> "$4"
}

# The median of the numbers in file $1, one per line.
p50_of() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# p50 (µs) of `pgbench -M prepared -c 1` running script $2 for $3 seconds on URL $1, placed by
# $prefix.
pgbench_p50() {
    : > "$work/latencies"
    pgbench_latencies "$@" "$work/latencies"
    p50_of "$work/latencies"
}

# Runs querygate on scenario $1 against $url, placed by $prefix; the report is $work/qg.json.
run_querygate() {
    "${prefix[@]}" "$work/querygate" run "$1" --backend url --database-url "$url" \
        --out "$work/qg.json" --format json -q > /dev/null
}

load_average() { cut -d' ' -f1 /proc/loadavg; }
