#!/bin/sh
# One-shot setup of docker-compose.yml: initialise (or update) the database
# and activate the suite's modules.  The admin password is read from
# $TRYTON_ADMIN_PASSWORD_FILE (a docker secret); answering the admin email
# prompt with an empty line.
set -eu
CONF="-c /etc/trytond/trytond-postgresql.conf /etc/trytond/trytond-docker.conf"
export TRYTONPASSFILE="${TRYTON_ADMIN_PASSWORD_FILE:-/run/secrets/tryton_admin_password}"
echo | trytond-admin $CONF -d "$TRYTON_DATABASE" --all
if [ -n "${TRYTON_MODULES:-}" ]; then
    trytond-admin $CONF -d "$TRYTON_DATABASE" \
        -u $TRYTON_MODULES --activate-dependencies
fi
