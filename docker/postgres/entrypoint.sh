#!/usr/bin/env bash
# docker-entrypoint.sh for the locally built postgres image (see
# scripts/build-pg-image.sh).  Implements the interface of the official
# postgres image's entrypoint that querygate / testcontainers-modules rely on:
#
#   POSTGRES_PASSWORD        required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER            superuser name (default: postgres)
#   POSTGRES_DB              database created at init (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS     extra initdb arguments (word-split)
#   POSTGRES_INITDB_WALDIR   initdb --waldir
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for host connections (default scram-sha-256)
#   PGDATA                   data directory (default: /var/lib/postgresql/data)
#   *_FILE variants of POSTGRES_PASSWORD/USER/DB/INITDB_ARGS (docker secrets)
#   /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sql.xz, *.sql.zst, *.sh
#
# `docker run IMAGE -c fsync=off` == `docker run IMAGE postgres -c fsync=off`.
# On first start (empty PGDATA) the database is initialised and a temporary,
# unix-socket-only server (started by pg_ctl, so its log goes to STDOUT) runs
# the init scripts; then the real server is exec'd (its log goes to STDERR).
# Each prints "database system is ready to accept connections" once, which is
# what testcontainers-modules' Postgres waits for (once on stdout, once on stderr).
set -Eeo pipefail

# usage: file_env VAR [DEFAULT]  -> VAR from $VAR or from the file named by $VAR_FILE
file_env() {
	local var="$1" fileVar="${1}_FILE" def="${2:-}"
	if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$fileVar"
		exit 1
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!fileVar:-}" ]; then
		val="$(< "${!fileVar}")"
	fi
	export "$var"="$val"
	unset "$fileVar"
}

# true if the postgres arguments only ask for help/version (no init then)
pg_want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version) return 0 ;;
		esac
	done
	return 1
}

setup_env() {
	export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
	file_env 'POSTGRES_PASSWORD'
	file_env 'POSTGRES_USER' 'postgres'
	file_env 'POSTGRES_DB' "$POSTGRES_USER"
	file_env 'POSTGRES_INITDB_ARGS'
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_db_directories() {
	local user; user="$(id -u)"
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$user" = '0' ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres: '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$user" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres: '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOE
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = 'trust' ]; then
		echo >&2 'WARNING: POSTGRES_HOST_AUTH_METHOD=trust: all host connections are accepted without a password.'
	fi
}

init_database_dir() {
	local args=( --username="$POSTGRES_USER" )
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		args+=( --waldir="$POSTGRES_INITDB_WALDIR" )
	fi
	# POSTGRES_INITDB_ARGS is word-split on purpose
	if [ -n "$POSTGRES_PASSWORD" ]; then
		# initdb sets the superuser's password, hashed with the default
		# password_encryption (scram-sha-256); the process substitution must be
		# on the initdb command itself so its fd is still open when initdb runs
		# shellcheck disable=SC2086
		initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
	else
		# shellcheck disable=SC2086
		initdb "${args[@]}" $POSTGRES_INITDB_ARGS
	fi
}

pg_setup_conf() {
	# listen on all interfaces (the image's postgresql.conf.sample already does;
	# this keeps the behaviour if initdb picked up another sample)
	if ! grep -Eq "^[[:space:]]*listen_addresses[[:space:]]*=" "$PGDATA/postgresql.conf"; then
		printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
	fi
	# password authentication for TCP connections from anywhere
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"
}

# temporary server: unix socket only, extra `-c` args from the command line apply
temp_server_start() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	# no -l: pg_ctl runs postgres with "2>&1", so this server logs to stdout
	PGUSER="${PGUSER:-$POSTGRES_USER}" \
		pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

process_sql() {
	local runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "$POSTGRES_DB" ]; then
		runner+=( --dbname "$POSTGRES_DB" )
	fi
	PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

setup_db() {
	local exists
	# POSTGRES_DB='' only for process_sql's --dbname; :'db' still gets the real name
	# shellcheck disable=SC2097,SC2098
	exists="$(
		POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
			SELECT 1 FROM pg_database WHERE datname = :'db' ;
		EOSQL
	)"
	if [ -z "$exists" ]; then
		# shellcheck disable=SC2097,SC2098
		POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		echo
	fi
}

process_init_files() {
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					echo "$0: running $f"
					"$f"
				else
					echo "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     echo "$0: running $f"; process_sql -f "$f"; echo ;;
			*.sql.gz)  echo "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
			*.sql.xz)  echo "$0: running $f"; xz -dc "$f" | process_sql; echo ;;
			*.sql.zst) echo "$0: running $f"; zstd -dc "$f" | process_sql; echo ;;
			*)         echo "$0: ignoring $f" ;;
		esac
	done
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = 'postgres' ] && ! pg_want_help "$@"; then
		setup_env
		create_db_directories
		if [ "$(id -u)" = '0' ]; then
			# drop privileges (gosu equivalent) and re-run this script as postgres
			HOME="$(getent passwd postgres | cut -d: -f6)"
			export HOME
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			# fail early if the init directory is unreadable
			ls /docker-entrypoint-initdb.d/ > /dev/null
			init_database_dir
			pg_setup_conf
			# in case POSTGRES_INITDB_ARGS made local connections require a password
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "$@"
			setup_db
			shopt -s nullglob
			process_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			temp_server_stop
			unset PGPASSWORD
			echo
			echo 'PostgreSQL init process complete; ready for start up.'
			echo
		else
			echo
			echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
			echo
		fi
	fi

	exec "$@"
}

main "$@"
