#!/usr/bin/env bash
# Sourced by scripts that need a Postgres: pg_start installs PostgreSQL from
# Debian when it is missing, starts a throwaway cluster on a local port in a
# temporary directory (as the postgres user when run as root), and exports
# FLOWRUN_PG_DSN; pg_stop stops it and removes the directory.

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	done
	return 1
}

pg_start() {
	local port="${1:-55432}"
	if ! pg_bin >/dev/null; then
		echo "lib-postgres: installing postgresql from Debian" >&2
		apt-get update -qq >/dev/null
		apt-get install -y -qq postgresql >/dev/null
	fi
	local bin
	bin="$(pg_bin)"
	PG_DIR="$(mktemp -d /tmp/flowrun-pg.XXXXXX)"
	local run=()
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$PG_DIR"
		run=(runuser -u postgres --)
	fi
	"${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U flowrun --auth=trust -E UTF8 >/dev/null
	"${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
		-o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
	"${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U flowrun flowrun
	export FLOWRUN_PG_DSN="postgres://flowrun@127.0.0.1:$port/flowrun?sslmode=disable"
	PG_CTL=("${run[@]}" "$bin/pg_ctl")
}

pg_stop() {
	if [ -n "${PG_DIR:-}" ]; then
		"${PG_CTL[@]}" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$PG_DIR"
		PG_DIR=
	fi
}
