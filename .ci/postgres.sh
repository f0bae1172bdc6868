#!/usr/bin/env bash
# Start a throw-away PostgreSQL on loopback for tests/test_serve.py's PostgreSQL test and
# print the URL to use as FAU_TEST_PG_URL. Installs Debian's postgresql and the psycopg
# driver when missing (root, CI only). Usage: export FAU_TEST_PG_URL=$(bash .ci/postgres.sh PYTHON)
set -euo pipefail
PY="${1:-python3}"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
fi
"$PY" -c "import psycopg" 2>/dev/null || "$PY" -m pip install -q "psycopg[binary]>=3.1" >&2
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
DIR=$(mktemp -d /tmp/fau-pg.XXXXXX)
chown postgres "$DIR"
su postgres -c "$BIN/initdb -D $DIR/data -A trust -U postgres" >/dev/null
su postgres -c "$BIN/pg_ctl -D $DIR/data -o '-p $PORT -k $DIR -c listen_addresses=127.0.0.1' -l $DIR/log -w start" >/dev/null
su postgres -c "$BIN/createdb -h 127.0.0.1 -p $PORT -U postgres fau"
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/fau"
