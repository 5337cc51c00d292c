#!/usr/bin/env python3
"""The suite's one trytond-admin helper (scripts, bench and tests use it).

    activate.py -c CONFIG [CONFIG ...] -d DATABASE [-p PASSWORD]
        [-l LANGUAGE ...] [MODULE ...]

initialises an existing empty database (``trytond-admin --all``, the admin
password from ``-p`` or TRYTONPASSFILE; ``-l``: the languages made
translatable, whose translations every module then loads) and activates
MODULE ... with their dependencies.  As a module: ``admin(configs, database, *args)`` runs one
``trytond-admin`` and ``activate(configs, database, modules)`` both steps;
they raise ``AdminError`` with the end of the output when one fails.
"""
import argparse
import os
import subprocess
import sys
import tempfile

BIN = os.path.dirname(os.path.abspath(sys.executable))
PGSTATS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pgstats.py')


class AdminError(RuntimeError):
    pass


def admin(configs, database, *args, env=None, password=None, timeout=900):
    "Run trytond-admin -c configs -d database args; return its output."
    env = dict(os.environ if env is None else env)
    passfile = None
    if password is not None:
        with tempfile.NamedTemporaryFile('w', delete=False) as passfile:
            passfile.write(password + '\n')
        env['TRYTONPASSFILE'] = passfile.name
    # trytond-admin through pgstats: fresh catalog statistics on PostgreSQL
    argv = [sys.executable, PGSTATS, '-c', *configs,
        '-d', database, *args]
    try:
        # an empty line answers the admin email prompt of --all
        result = subprocess.run(argv, env=env, input=b'\n', timeout=timeout,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    finally:
        if passfile:
            os.unlink(passfile.name)
    output = result.stdout.decode(errors='replace')
    if result.returncode:
        raise AdminError(f"trytond-admin {' '.join(args)} failed "
            f"({result.returncode}):\n{output[-6000:]}")
    return output


def activate(configs, database, modules, languages=(), **kwargs):
    """Initialise database (with languages translatable) and activate
    modules with their dependencies."""
    languages = ['-l', *languages] if languages else []
    output = admin(configs, database, '--all', *languages, **kwargs)
    if modules:
        output += admin(configs, database, '-u', *sorted(modules),
            '--activate-dependencies', **kwargs)
    return output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-c', dest='configs', nargs='+', required=True)
    parser.add_argument('-d', dest='database', required=True)
    parser.add_argument('-p', dest='password')
    parser.add_argument('-l', dest='languages', nargs='+', default=[])
    parser.add_argument('modules', nargs='*')
    args = parser.parse_args()
    try:
        sys.stdout.write(activate(args.configs, args.database, args.modules,
                languages=args.languages, password=args.password))
    except AdminError as exception:
        sys.exit(str(exception))


if __name__ == '__main__':
    main()
