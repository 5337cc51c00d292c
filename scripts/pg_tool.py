#!/usr/bin/env python3
"""Small PostgreSQL helper for the scripts: reachability and cleanup.

    pg_tool.py ping URI             exit 0 when a server answers
    pg_tool.py drop-like URI PATTERN  drop databases whose name is LIKE PATTERN
"""
import sys

import psycopg
from psycopg import sql


def connect(uri, dbname='postgres'):
    return psycopg.connect(
        uri.rstrip('/') + '/' + dbname, autocommit=True, connect_timeout=3)


def main():
    command, uri = sys.argv[1:3]
    try:
        conn = connect(uri)
    except psycopg.OperationalError:
        sys.exit(1)
    with conn:
        if command == 'drop-like':
            names = [r[0] for r in conn.execute(
                    "SELECT datname FROM pg_database "
                    "WHERE datname LIKE %s AND NOT datistemplate",
                    (sys.argv[3],))]
            for name in names:
                conn.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')
                    .format(sql.Identifier(name)))


if __name__ == '__main__':
    main()
