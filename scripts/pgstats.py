"""Keep PostgreSQL's planner statistics of the catalog fresh while Tryton
activates modules.

Tryton's PostgreSQL table handler asks ``information_schema`` about every
table it registers (columns, constraints, foreign-key delete rules).  Those
views join ``pg_class``, ``pg_attribute``, ``pg_constraint`` …; in a new
database the planner's statistics of these catalogs describe the empty
catalog of ``template0`` until they are analysed again.  A server with
autovacuum on re-analyses them within a minute or so; with autovacuum off
(as on the machine the suite's CI runs on) they stay stale and the
foreign-key query of each table takes seconds by the end of an activation:
measured on 240 tables, 3.5 s per query stale against 0.016 s analysed,
the same rows.

``install()`` makes the process's table handler analyse those catalogs
after every ``EVERY`` tables it opens, inside the activating transaction
(what autovacuum would do). ``scripts/activate.py`` runs trytond-admin
through it (``python scripts/pgstats.py ARGS`` is ``trytond-admin ARGS``)
and the test runner's PostgreSQL children install it.  It changes no result, only the
plans of the catalog queries.
"""
import importlib.abc
import importlib.util
import sys

EVERY = 20
CATALOGS = (
    'pg_class', 'pg_attribute', 'pg_constraint', 'pg_index', 'pg_depend',
    'pg_type', 'pg_attrdef', 'pg_namespace', 'pg_description')

_installed = False
MODULE = 'trytond.backend.postgresql.table'


def _patch(table):
    from trytond.transaction import Transaction
    init = table.TableHandler._init
    opened = [0]

    def _init(self, model, history=False):
        init(self, model, history=history)
        opened[0] += 1
        if not opened[0] % EVERY:
            cursor = Transaction().connection.cursor()
            cursor.execute('ANALYZE ' + ', '.join(
                    f'pg_catalog.{name}' for name in CATALOGS))
    table.TableHandler._init = _init


class _Finder(importlib.abc.MetaPathFinder):
    "Patch the table handler when trytond imports it (after its config)"

    def find_spec(self, fullname, path, target=None):
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _patch(module)
        spec.loader.exec_module = patched
        return spec


def install():
    """Analyse the catalog every EVERY table handlers (once per process;
    before or after trytond's backend is imported)"""
    global _installed
    if _installed:
        return
    _installed = True
    if MODULE in sys.modules:
        _patch(sys.modules[MODULE])
    else:
        sys.meta_path.insert(0, _Finder())


def main():
    "Run trytond-admin (its arguments) with install() done"
    install()
    from trytond.cli.admin import main as admin
    sys.argv[0] = 'trytond-admin'
    sys.exit(admin())


if __name__ == '__main__':
    main()
