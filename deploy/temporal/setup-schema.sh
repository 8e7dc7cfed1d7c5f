#!/bin/sh
# One-shot job of compose.yaml (temporalio/admin-tools): create Temporal's two PostgreSQL
# databases and bring both schemas to the version this admin-tools image ships.
# Idempotent, so it runs on every `docker compose up`: an existing database is kept
# (temporal-sql-tool ignores "duplicate database"), setup-schema leaves a versioned schema
# alone, and update-schema applies only the versions not applied yet.
set -eu

: "${DB:=postgres12}"
: "${DB_PORT:=5432}"
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_SCHEMA_DIR:=/etc/temporal/schema}"
: "${ATTEMPTS:=30}"
# temporal-sql-tool reads the password from the environment, never from argv.
SQL_PASSWORD="$POSTGRES_PWD"
export SQL_PASSWORD

say() { echo "temporal-schema: $*"; }

sql() {
  temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

# PostgreSQL is healthy before this job starts (depends_on), but may still refuse the
# first connection while it finishes its own init: retry the first statement only.
n=0
until sql --db "$DBNAME" create; do
  n=$((n + 1))
  if [ "$n" -ge "$ATTEMPTS" ]; then
    say "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT still unreachable after $n tries; giving up." >&2
    exit 1
  fi
  say "PostgreSQL not ready yet (try $n/$ATTEMPTS); retrying in 2 s."
  sleep 2
done

for target in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db="${target%%:*}"
  kind="${target#*:}"
  say "database $db ($kind schema)"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$TEMPORAL_SCHEMA_DIR/postgresql/v12/$kind/versioned"
done
say "done."
