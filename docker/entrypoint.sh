#!/bin/sh
# Kraken container entrypoint; also runs from a checkout (`docker/entrypoint.sh`).
#   no arguments  -> migrate (unless KRAKEN_MIGRATE_ON_START=0), then exec gunicorn
#   arguments     -> migrate (same rule), then exec the arguments instead of gunicorn,
#                    e.g. `docker run IMAGE flask --app wsgi kraken create-owner admin`
# `flask` and `gunicorn` are looked up on PATH, so a caller picks the binaries by
# setting PATH (the image puts /opt/venv/bin first).
set -eu

# Work from the project root (/app in the image), where wsgi.py and gunicorn.conf.py live,
# whatever directory we were started from.
cd "$(dirname "$0")/.."

# Outside Docker, fall back to the checkout's virtualenv. Appended, not prepended,
# so a PATH chosen by the caller still wins.
if [ -d .venv/bin ]; then PATH="$PATH:$PWD/.venv/bin"; export PATH; fi

if [ "$#" -eq 0 ]; then
  set -- gunicorn -c gunicorn.conf.py wsgi:app
fi

# Migrations are idempotent, but with several app processes only one should run
# them (compose: app1 migrates, app2 waits for it). A failure stops here (set -e),
# so the server never starts on a database without its indexes.
if [ "${KRAKEN_MIGRATE_ON_START:-1}" = 1 ]; then
  flask --app wsgi kraken migrate
fi

# exec: the command replaces this shell, becomes PID 1 in the container and
# receives SIGTERM directly (gunicorn then stops gracefully).
exec "$@"
