#!/bin/sh
# Runs once, when the Postgres volume is first initialised (docker-entrypoint-initdb.d): the
# gateway's role owns its database (it runs the migrations) and has no other right: not a
# superuser, cannot create databases or roles. tests/deploy/test_compose.py runs it against a
# real Postgres and migrates the trace store as that role.
set -eu
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v role="${RAILYARD_DB_USER:-railyard}" -v db="${RAILYARD_DB_NAME:-railyard}" \
  -v password="$POSTGRES_RAILYARD_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
