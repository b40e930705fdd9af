#!/usr/bin/env bash
# build-pg-image.sh - build a local "postgres:17" (or "postgres:15") Docker image from Debian packages.
#
# Why this exists: querygate's docker backend (testcontainers + the
# testcontainers-modules `Postgres` image definition) needs an image called
# postgres:17, but no container registry is reachable from the project's
# machines, so `docker pull postgres:17` fails there.  Debian's package mirrors
# *are* reachable, so this script debootstraps a minimal Debian trixie root
# filesystem containing postgresql-17, adds docker/postgres/entrypoint.sh (a
# re-implementation of the official image's entrypoint interface:
# POSTGRES_PASSWORD/POSTGRES_USER/POSTGRES_DB/PGDATA/POSTGRES_INITDB_ARGS,
# /docker-entrypoint-initdb.d, temporary init server, `postgres -c ...` args)
# and `docker import`s the result.
#
# If you CAN reach a registry, you do not need this: just `docker pull postgres:17`.
#
# Usage: scripts/build-pg-image.sh [IMAGE[:TAG]]     (default: postgres:17)
#
# A numeric tag names the PostgreSQL major version: postgres:17 comes from Debian trixie,
# postgres:15 from Debian bookworm (the version of Debian 12's own server, so that a
# container and a local cluster on such a machine run the same server; scripts/lib/bench.sh
# uses it to compare backends on one server version).
#
# Idempotent: does nothing if the image already exists.  The debootstrapped
# root filesystem is cached as a tarball under
# ${XDG_CACHE_HOME:-$HOME/.cache}/querygate/, so rebuilding after `docker rmi`
# only takes a few seconds (and does not need root or network access).
#
# Environment overrides:
#   QG_DEBIAN_MIRROR   Debian mirror URL (default: the one configured for apt on
#                      this machine, else http://deb.debian.org/debian)
#   QG_DEBIAN_SUITE    Debian suite to bootstrap (default: trixie for 17, bookworm
#                      for 15: the suites that ship that version as their default)
#   QG_PG_MAJOR        PostgreSQL major version (default: the image's tag when it is
#                      a number, else 17)
#   QG_PG_CACHE_DIR    cache directory (default: ${XDG_CACHE_HOME:-$HOME/.cache}/querygate)
#   QG_PG_REBUILD=1    ignore (and replace) the cached root filesystem tarball
#   QG_PG_NO_JIT=1     leave out LLVM (JIT compilation support): ~190 MB smaller
#                      image; `jit` then silently does nothing.  Default keeps
#                      JIT, like the official image (benchmarks may depend on it).
#
# Requirements: docker (daemon reachable); for a cold build additionally root,
# debootstrap (installed with apt-get if missing) and access to a Debian mirror.
set -euo pipefail

IMAGE="${1:-postgres:17}"
tag="${IMAGE##*:}"
[[ "$IMAGE" == *:* && "$tag" =~ ^[0-9]+$ ]] || tag=17
readonly PG_MAJOR="${QG_PG_MAJOR:-$tag}"
case "$PG_MAJOR" in
  15) default_suite=bookworm ;;
  17) default_suite=trixie ;;
  *) default_suite="" ;;
esac
SUITE="${QG_DEBIAN_SUITE:-$default_suite}"
[[ -n "$SUITE" ]] || { echo "build-pg-image: error: no Debian suite known to ship PostgreSQL $PG_MAJOR as its default; set QG_DEBIAN_SUITE" >&2; exit 1; }
CACHE_DIR="${QG_PG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/querygate}"

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
ENTRYPOINT_SRC="$REPO_ROOT/docker/postgres/entrypoint.sh"

# Packages added on top of debootstrap's minbase.  Dependencies (libs, tzdata,
# perl for postgresql-common, ...) are resolved by debootstrap; Recommends are
# not installed.  setpriv (used by the entrypoint to drop from root to the
# postgres user, like gosu in the official image) comes with util-linux, which
# is part of minbase.
INCLUDE_PKGS="postgresql-${PG_MAJOR}"
NO_JIT="${QG_PG_NO_JIT:-0}"
[[ "$NO_JIT" == 0 || "$NO_JIT" == 1 ]] || { echo "build-pg-image: error: QG_PG_NO_JIT must be 0 or 1" >&2; exit 1; }
# uid/gid of the postgres user, as in the official image (Debian's package
# would otherwise pick the next free system ids, e.g. 100:102).
readonly PG_UID=999 PG_GID=999
# Bump when the root filesystem recipe below changes, to invalidate caches.
readonly ROOTFS_RECIPE=2

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-pg-image: error: %s\n' "$*" >&2; exit 1; }

SECONDS=0

# --- preflight ---------------------------------------------------------------
command -v docker >/dev/null 2>&1 \
  || die "docker CLI not found in PATH (install docker.io or Docker Engine)"
docker_err=""
if ! docker_err="$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null)"; then
  die "cannot talk to the Docker daemon (is it running? are you in the docker group?): ${docker_err}"
fi
[[ -f "$ENTRYPOINT_SRC" ]] || die "entrypoint not found: $ENTRYPOINT_SRC"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"
  exit 0
fi

# --- temp dir + cleanup ------------------------------------------------------
WORKDIR=""
ROOTFS=""
CACHE_TMP=""
cleanup() {
  local rc=$?
  [[ -n "$CACHE_TMP" ]] && rm -f -- "$CACHE_TMP"
  if [[ -n "$ROOTFS" && -d "$ROOTFS" ]]; then
    # debootstrap mounts proc/sys (and, inside containers, bind-mounts device
    # nodes) under the target; never rm -rf through a live mount.
    local m
    while IFS= read -r m; do
      umount -l "$m" 2>/dev/null || true
    done < <(awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  fi
  if [[ -n "$WORKDIR" && -d "$WORKDIR" ]]; then
    [[ -n "$ROOTFS" ]] && log "removing temporary files"
    rm -rf --one-file-system -- "$WORKDIR" \
      || echo "build-pg-image: warning: could not fully remove $WORKDIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Serialise concurrent builds (e.g. several test processes calling this script).
mkdir -p -- "$CACHE_DIR" || die "cannot create cache directory $CACHE_DIR"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.build-pg-image.lock"
  if ! flock -n 9; then
    log "another build-pg-image.sh is running; waiting for it"
    flock 9
    if docker image inspect "$IMAGE" >/dev/null 2>&1; then
      echo "image $IMAGE already present"
      exit 0
    fi
  fi
fi

WORKDIR="$(mktemp -d "${TMPDIR:-/var/tmp}/qg-pg-image.XXXXXX")"

# --- helpers -----------------------------------------------------------------

# Print the Debian archive mirror configured for apt on this machine (first
# URI ending in /debian, i.e. not debian-security or third-party repos).
detect_mirror() {
  local f
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -r "$f" ]] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      # deb [opt=val ...] URI suite components
      [[ -r "$f" ]] && awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ } print $i }' "$f"
    done
  } 2>/dev/null | grep -E '^https?://[^/]+(/.*)?/debian/?$' | head -n1 | sed 's:/*$::' || true
}

compressor() {
  if command -v zstd >/dev/null 2>&1; then echo zst; else echo gz; fi
}

decompress() { # file -> stdout
  case "$1" in
    *.zst) zstd -dc -q -- "$1" ;;
    *.gz)  gzip -dc -- "$1" ;;
    *) die "unknown cache format: $1" ;;
  esac
}

# Debootstrap + slim down a root filesystem and write it to $1 (a tarball).
build_rootfs_tarball() {
  local out="$1" mirror
  [[ "$(id -u)" -eq 0 ]] \
    || die "no cached root filesystem at $out and building one needs root (debootstrap); re-run as root"

  if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 \
      || die "debootstrap is not installed and apt-get is unavailable to install it"
    log "installing debootstrap with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2; then
      if ! { DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2; }; then
        die "could not install debootstrap with apt-get"
      fi
    fi
  fi
  [[ -e "/usr/share/debootstrap/scripts/$SUITE" ]] \
    || die "this debootstrap ($(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?')) does not know suite '$SUITE'; upgrade debootstrap or set QG_DEBIAN_SUITE"

  mirror="${QG_DEBIAN_MIRROR:-$(detect_mirror)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  # debootstrap only honours $http_proxy; reuse apt's proxy setting if any.
  if [[ -z "${http_proxy:-}" ]] && command -v apt-config >/dev/null 2>&1; then
    local http_proxy=""
    eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
    if [[ -n "$http_proxy" && "$http_proxy" != DIRECT ]]; then
      log "using apt's HTTP proxy $http_proxy"
      export http_proxy
    fi
  fi

  ROOTFS="$WORKDIR/rootfs"
  log "debootstrap --variant=minbase --include=$INCLUDE_PKGS $SUITE (mirror $mirror)"
  if ! debootstrap --variant=minbase --include="$INCLUDE_PKGS" \
       "$SUITE" "$ROOTFS" "$mirror" >"$WORKDIR/debootstrap.log" 2>&1; then
    tail -n 30 "$WORKDIR/debootstrap.log" >&2
    [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (see output above)"
  fi
  if awk -v r="$ROOTFS" 'index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "debootstrap left file systems mounted under $ROOTFS"
  fi

  local r="${ROOTFS:?}"
  [[ -x "$r/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ]] || die "postgresql-$PG_MAJOR was not installed in the root filesystem"
  [[ -x "$r/usr/bin/setpriv" ]] || die "setpriv (util-linux) missing from the root filesystem"
  grep -q '^postgres:' "$r/etc/passwd" || die "postgres user missing from the root filesystem"

  # Renumber the postgres user/group to 999:999 like the official image, so
  # data directories are interchangeable with it.
  local old_uid old_gid
  old_uid="$(awk -F: '$1 == "postgres" { print $3 }' "$r/etc/passwd")"
  old_gid="$(awk -F: '$1 == "postgres" { print $3 }' "$r/etc/group")"
  if [[ "$old_uid:$old_gid" != "$PG_UID:$PG_GID" ]]; then
    if awk -F: -v id="$PG_UID" '$3 == id && $1 != "postgres" { f = 1 } END { exit !f }' "$r/etc/passwd" \
       || awk -F: -v id="$PG_GID" '$3 == id && $1 != "postgres" { f = 1 } END { exit !f }' "$r/etc/group"; then
      die "uid $PG_UID or gid $PG_GID is already taken in the root filesystem"
    fi
    find "$r" -xdev -uid "$old_uid" -exec chown -h "$PG_UID" {} +
    find "$r" -xdev -gid "$old_gid" -exec chgrp -h "$PG_GID" {} +
    awk -F: -v OFS=: -v u="$PG_UID" -v g="$PG_GID" -v og="$old_gid" \
      '$1 == "postgres" { $3 = u; $4 = g } $1 != "postgres" && $4 == og { $4 = g } { print }' \
      "$r/etc/passwd" >"$r/etc/passwd.new"
    awk -F: -v OFS=: -v g="$PG_GID" '$1 == "postgres" { $3 = g } { print }' \
      "$r/etc/group" >"$r/etc/group.new"
    cat "$r/etc/passwd.new" >"$r/etc/passwd" && rm -f "$r/etc/passwd.new"
    cat "$r/etc/group.new" >"$r/etc/group" && rm -f "$r/etc/group.new"
  fi

  log "slimming root filesystem"
  # The package's postinst creates a "17/main" cluster (Debian's
  # pg_createcluster layout); the image uses $PGDATA instead.
  rm -rf "$r/etc/postgresql/$PG_MAJOR" "$r/var/lib/postgresql/$PG_MAJOR"
  # Like the official image: listen on all interfaces in clusters created by initdb.
  sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" \
    "$r/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
  grep -q "^listen_addresses = '\*'" "$r/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample" \
    || die "could not set listen_addresses in postgresql.conf.sample"

  # Docs, man pages, translations, apt lists/caches, logs.
  rm -rf "${r:?}"/usr/share/doc/* "${r:?}"/usr/share/man/* "${r:?}"/usr/share/info/* \
         "${r:?}"/usr/share/locale/* "${r:?}"/usr/share/lintian "${r:?}"/usr/share/linda \
         "${r:?}"/var/lib/apt/lists/* "${r:?}"/var/cache/apt/*.bin "${r:?}"/var/cache/apt/archives/*.deb \
         "${r:?}"/var/cache/debconf/*-old "${r:?}"/var/lib/dpkg/*-old "${r:?}"/var/log/* \
         "${r:?}"/debootstrap "${r:?}"/tmp/* "${r:?}"/var/tmp/* "${r:?}"/run/* \
         "${r:?}"/dev/* "${r:?}"/proc/* "${r:?}"/sys/*
  # Locale sources (17 MB): only needed by locale-gen; the image uses the
  # built-in C.UTF-8 locale (/usr/lib/locale/C.utf8 is kept).
  rm -rf "${r:?}"/usr/share/i18n/charmaps "${r:?}"/usr/share/i18n/locales
  if [[ "$NO_JIT" == 1 ]]; then
    rm -rf "${r:?}/usr/lib/postgresql/$PG_MAJOR/lib/bitcode" "${r:?}/usr/lib/postgresql/$PG_MAJOR"/lib/llvmjit*.so \
           "${r:?}"/usr/lib/*-linux-gnu/libLLVM* "${r:?}"/usr/lib/*-linux-gnu/libz3.so*
  fi
  # Keep future `apt-get install`s inside the image slim as well.
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d" "$r/etc/apt/apt.conf.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/querygate-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  cat >"$r/etc/apt/apt.conf.d/querygate-slim" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  # Host-specific files debootstrap copied in; docker provides its own.
  : >"$r/etc/resolv.conf"
  rm -f "$r/etc/hostname"

  # Directories the entrypoint relies on (same modes as the official image).
  mkdir -p "$r/run/postgresql" "$r/var/lib/postgresql/data" "$r/docker-entrypoint-initdb.d"
  chown "$PG_UID:$PG_GID" "$r/run/postgresql" "$r/var/lib/postgresql" "$r/var/lib/postgresql/data"
  chmod 3777 "$r/run/postgresql"
  chmod 1777 "$r/var/lib/postgresql/data"

  log "writing root filesystem tarball $out"
  CACHE_TMP="$out.tmp.$$"
  case "$out" in
    *.zst) tar --numeric-owner --xattrs -C "$r" -c . | zstd -q -T0 -o "$CACHE_TMP" ;;
    *.gz)  tar --numeric-owner --xattrs -C "$r" -c . | gzip -6 >"$CACHE_TMP" ;;
  esac
  mv -f -- "$CACHE_TMP" "$out"
  CACHE_TMP=""
}

# --- root filesystem (cached) ------------------------------------------------
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
key="$(printf '%s\n' "$ROOTFS_RECIPE" "$SUITE" "$arch" "$INCLUDE_PKGS" "$NO_JIT" | sha256sum | cut -c1-12)"
cached=""
for ext in zst gz; do
  f="$CACHE_DIR/postgres${PG_MAJOR}-${SUITE}-${arch}-${key}.rootfs.tar.$ext"
  if [[ -s "$f" ]]; then cached="$f"; break; fi
done
if [[ -n "$cached" && "${QG_PG_REBUILD:-0}" == 1 ]]; then
  log "QG_PG_REBUILD=1: discarding cached $cached"
  rm -f -- "$cached"
  cached=""
fi
if [[ -n "$cached" && "$(compressor)" == gz && "$cached" == *.zst ]]; then
  die "cached $cached needs zstd to unpack; install zstd or set QG_PG_REBUILD=1"
fi
if [[ -z "$cached" ]]; then
  cached="$CACHE_DIR/postgres${PG_MAJOR}-${SUITE}-${arch}-${key}.rootfs.tar.$(compressor)"
  build_rootfs_tarball "$cached"
else
  log "using cached root filesystem $cached"
fi

# --- image -------------------------------------------------------------------
# Append the entrypoint to an uncompressed copy of the cached tarball (so the
# cache does not depend on the entrypoint and no root is needed here), then
# import it with the image configuration of the official postgres image.
log "importing $IMAGE"
tarball="$WORKDIR/image.tar"
decompress "$cached" >"$tarball" \
  || die "cannot unpack cached $cached (corrupt?); delete it or set QG_PG_REBUILD=1"
stage="$WORKDIR/stage"
install -D -m 0755 "$ENTRYPOINT_SRC" "$stage/usr/local/bin/docker-entrypoint.sh"
tar --numeric-owner --owner=0 --group=0 -C "$stage" -rf "$tarball" ./usr/local/bin/docker-entrypoint.sh

pg_bin="/usr/lib/postgresql/${PG_MAJOR}/bin"
image_id="$(
  docker import \
    --message "querygate: PostgreSQL ${PG_MAJOR} from Debian ${SUITE} packages (scripts/build-pg-image.sh)" \
    --change "ENV PATH=${pg_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV PG_MAJOR=${PG_MAJOR}" \
    --change "ENV PGDATA=/var/lib/postgresql/data" \
    --change 'VOLUME ["/var/lib/postgresql/data"]' \
    --change 'EXPOSE 5432' \
    --change 'USER root' \
    --change 'WORKDIR /' \
    --change "LABEL org.opencontainers.image.description=\"PostgreSQL ${PG_MAJOR} (Debian ${SUITE}) built locally by querygate scripts/build-pg-image.sh\"" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    - <"$tarball"
)" || die "docker import failed"

# `docker import --change` does not accept STOPSIGNAL (Docker 20.10).  The
# official image uses SIGINT (fast shutdown); with the default SIGTERM
# (smart shutdown) `docker stop` waits for open connections until docker's
# timeout kills the server.  Add it with a metadata-only build from the
# imported image id (classic builder: never contacts a registry).  Best effort:
# if that fails, the imported image is tagged as is.
if stop_err="$(printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$image_id" \
                 | DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" - 2>&1 >/dev/null)"; then
  :
else
  printf 'build-pg-image: warning: could not set STOPSIGNAL SIGINT (docker stop will use SIGTERM = smart shutdown):\n%s\n' \
    "$stop_err" >&2
  docker tag "$image_id" "$IMAGE" || die "docker tag $image_id $IMAGE failed"
fi

size="$(docker image inspect --format '{{.Size}}' "$IMAGE" 2>/dev/null || echo 0)"
log "built $IMAGE ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c8-19)) $((size / 1000000)) MB in ${SECONDS}s"
