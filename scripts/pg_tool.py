#!/usr/bin/env python3
"""The suite's one PostgreSQL helper (scripts, bench and tests import it).

    pg_tool.py ping URI               exit 0 when a server answers
    pg_tool.py drop-prefix URI PREFIX drop the databases named PREFIX_...
                                      or PREFIX-... (one run's databases)
    pg_tool.py drop URI NAME          drop one database
    pg_tool.py create URI NAME        create an empty database
    pg_tool.py exists URI NAME        exit 0 when database NAME exists

As a module: ``connect``, ``exists``, ``create``, ``copy``, ``drop`` and
``drop_prefix`` take the server URI (``postgresql://host:port/``) first.
"""
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def conninfo(uri, dbname):
    "uri with its path replaced by dbname."
    return urlunsplit(urlsplit(uri)._replace(path='/' + dbname))


def connect(uri, dbname='postgres', timeout=10):
    return psycopg.connect(
        conninfo(uri, dbname), autocommit=True, connect_timeout=timeout)


def unavailable(uri):
    "None when a server answers at uri, else the reason."
    try:
        connect(uri, timeout=3).close()
    except psycopg.Error as exception:
        return f"PostgreSQL unreachable at {uri}: {exception}"
    return None


def exists(uri, name):
    with connect(uri) as conn:
        return bool(conn.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (name,)).fetchone())


def create(uri, name, template='template0'):
    "Create database name (a copy of template)."
    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template))
    if template == 'template0':
        query += sql.SQL(" ENCODING 'unicode'")
    with connect(uri) as conn:
        conn.execute(query)


def copy(uri, source, target):
    "Copy database source to target (which must not exist)."
    create(uri, target, template=source)


def drop(uri, name):
    with connect(uri) as conn:
        conn.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')
            .format(sql.Identifier(name)))


def names_with_prefix(uri, prefix):
    with connect(uri) as conn:
        return [n for n, in conn.execute(
                "SELECT datname FROM pg_database "
                "WHERE left(datname, %s) = %s AND NOT datistemplate",
                (len(prefix), prefix))]


def drop_prefix(uri, prefix):
    "Drop the databases named prefix_... or prefix-...; return them."
    names = [n for n in names_with_prefix(uri, prefix)
        if n[len(prefix):len(prefix) + 1] in {'_', '-'}]
    for name in names:
        drop(uri, name)
    return names


def main():
    command, uri = sys.argv[1:3]
    if unavailable(uri):
        sys.exit(1)
    if command == 'drop-prefix':
        drop_prefix(uri, sys.argv[3])
    elif command == 'drop':
        drop(uri, sys.argv[3])
    elif command == 'create':
        create(uri, sys.argv[3])
    elif command == 'exists':
        sys.exit(0 if exists(uri, sys.argv[3]) else 1)
    elif command != 'ping':
        sys.exit(f"unknown command {command}")


if __name__ == '__main__':
    main()
