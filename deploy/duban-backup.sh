#!/bin/sh
# duban's scheduled backup (deploy/duban-backup.service runs it daily, as the duban user, with
# /etc/duban/duban.env). One new copy per run, named by the time; copies older than
# DUBAN_BACKUP_KEEP_DAYS (30) are removed after the new one is in place.
#
#   SQLite (DUBAN_DATABASE_URL unset or sqlite:…): `duban backup`, an online, consistent copy that has
#   passed SQLite's integrity check: duban-<time>.sqlite3;
#   PostgreSQL: pg_dump (Debian's postgresql-client, of the server's major version or newer), custom format
#   for pg_restore: duban-<time>.dump. The connection comes from DUBAN_DATABASE_URL, passed to pg_dump as
#   PG* variables so the password never shows on a command line.
#
# Copy the evidence folder (DUBAN_EVIDENCE_DIR) off the machine together with these copies.
set -eu

duban_home=${DUBAN_HOME:-/opt/duban}          # the checkout, with its .venv
dir=${DUBAN_BACKUP_DIR:-/var/lib/duban/backups}
keep_days=${DUBAN_BACKUP_KEEP_DAYS:-30}
stamp=$(date +%Y-%m-%dT%H%M%S)

umask 027
mkdir -p "$dir"

case ${DUBAN_DATABASE_URL:-sqlite:} in
    postgresql*)
        # The URL's parts as libpq's variables, %-decoding done by SQLAlchemy's own URL parser.
        libpq=$("$duban_home/.venv/bin/python" -c '
import os, shlex
from sqlalchemy.engine import make_url
url = make_url(os.environ["DUBAN_DATABASE_URL"])
for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                    ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                    ("PGSSLMODE", url.query.get("sslmode"))):
    if value is not None:
        print(f"export {name}={shlex.quote(str(value))}")
')  # a failure stops here (set -e), before pg_dump could reach some default database
        eval "$libpq"
        partial="$dir/.duban-$stamp.dump.partial"
        trap 'rm -f "$partial"' EXIT  # a failed dump leaves nothing behind
        pg_dump --format=custom --file="$partial"
        mv "$partial" "$dir/duban-$stamp.dump"
        echo "pg_dump: $dir/duban-$stamp.dump"
        ;;
    sqlite*)
        "$duban_home/.venv/bin/duban" backup "$dir/duban-$stamp.sqlite3"
        ;;
    *)
        echo "duban-backup: DUBAN_DATABASE_URL is neither sqlite: nor postgresql: — nothing backed up" >&2
        exit 1
        ;;
esac

find "$dir" -maxdepth 1 -type f \( -name 'duban-*.sqlite3' -o -name 'duban-*.dump' \) -mtime +"$keep_days" \
    -print -delete
