"""Workload API of the benchmarks (run them with ``scripts/bench``).

A workload is a function in ``bench/workloads/<module>.py`` registered with
:func:`workload`; it receives a :class:`Context` and measures one or more
*variants* of the same job with :meth:`Context.measure`::

    from bench.harness import workload

    @workload('customer_status.balance', modules=['customer_status'],
        description="balance of every customer")
    def balance(ctx):
        Party = ctx.pool.get('party.party')
        with ctx.transaction():
            ids = [p.id for p in Party.search([])]

        def batch():
            return Party.read(ids, ['status_balance'])
        ctx.measure('status batch', batch)
        ctx.measure('stock receivable',
            lambda: Party.read(ids, ['receivable']), baseline='stock')

``workload(name, modules=(), description='')``
    Registers the function.  It is skipped (and reported as such) when one of
    ``modules`` is not activated in the benchmark database.

``Context`` attributes
    ``database`` (name), ``scale`` (number of customers the database was
    generated for), ``pool`` (the initialised :class:`trytond.pool.Pool`),
    ``company`` (id of the main company), ``user`` (id of the user the
    transactions run as: ``admin``, whose preferences give the context).

``ctx.transaction(commit=False, context=None)``
    Context manager starting a Tryton transaction as ``ctx.user`` with his
    preferences (company, language ...) plus ``context``; it rolls back
    unless ``commit`` is true.  Use it for preparation outside measurement.

``ctx.measure(variant, func, baseline=None, *, setup=None, commit=False,
context=None, repeat=None, extrapolate=None)``
    Runs ``func`` inside a fresh transaction and records its wall time and
    the number of SQL statements executed (``execute``/``executemany`` of
    the backend's cursor class are counted while ``func`` runs).  When
    ``setup`` is given, it runs first in the same transaction (neither timed
    nor counted) and its result is passed to ``func``; the transaction's
    record cache is emptied between them, so ``func`` does not read what the
    setup left in it (records setup returns keep their own).  The
    transaction is rolled back unless ``commit`` is true, so variants all
    see the same data.
    ``baseline`` names what the variant is a baseline of: ``'naive'`` (a
    naive ORM version: per-record loops), ``'stock'`` (stock Tryton doing a
    comparable job) or ``'floor'`` (raw SQL: the best the database can do);
    every variant of the workload is then shown with its time ratio to each
    baseline.  When trytond asks for table or record locks (as the
    dispatcher would) the run is retried with them.  ``repeat`` runs it
    several times (default: ``--repeat`` of
    ``scripts/bench``) and keeps the fastest run.  ``extrapolate`` (a
    factor) marks a variant run on a sample (e.g. a slow naive baseline):
    its time and queries are multiplied by the factor, the measured ones are
    kept as ``sample_seconds``/``sample_queries`` and the variant's name
    says so.  Returns ``func``'s result (of the last run).

``ctx.skip(reason)``
    Abandons the workload, e.g. when the database is too small for it.

Workloads must not leave changes behind (use rollback) so that a database
generated once can be reused (``scripts/bench --reuse``).
"""
import contextlib
import time

__all__ = ['workload', 'Context', 'SkipWorkload', 'WORKLOADS',
    'BASELINES', 'count_queries']

WORKLOADS = {}
# Conventional baseline kinds, in the order of the table columns
BASELINES = ('naive', 'stock', 'floor')


class SkipWorkload(Exception):
    pass


def workload(name, modules=(), description=''):
    "Register the decorated function as the workload ``name``."
    def decorator(func):
        if name in WORKLOADS and WORKLOADS[name]['function'] is not func:
            raise ValueError(f"workload {name!r} registered twice")
        WORKLOADS[name] = {
            'name': name,
            'function': func,
            'modules': list(modules),
            'description': description or (func.__doc__ or '').strip(),
            }
        return func
    return decorator


class _Counter:
    def __init__(self):
        self.count = 0


@contextlib.contextmanager
def count_queries():
    """Count SQL statements executed by trytond's cursors in the block.

    PostgreSQL connections are created with
    ``trytond.backend.postgresql.database.LoggingCursor`` as cursor factory
    and SQLite ones use ``trytond.backend.sqlite.database.SQLiteCursor``, so
    wrapping their ``execute``/``executemany`` catches every statement.
    """
    counter = _Counter()
    patched = []
    for module, name in [
            ('trytond.backend.postgresql.database', 'LoggingCursor'),
            ('trytond.backend.sqlite.database', 'SQLiteCursor'),
            ]:
        try:
            cls = getattr(__import__(module, fromlist=[name]), name)
        except ImportError:
            continue
        for method in ['execute', 'executemany']:
            original = cls.__dict__.get(method)
            target = (original if original is not None
                else getattr(super(cls, cls), method))

            def wrapper(self, *args, _target=target, **kwargs):
                counter.count += 1
                return _target(self, *args, **kwargs)
            setattr(cls, method, wrapper)
            patched.append((cls, method, original))
    try:
        yield counter
    finally:
        for cls, method, original in reversed(patched):
            if original is None:
                delattr(cls, method)
            else:
                setattr(cls, method, original)


class Context:
    "What a workload receives (see the module docstring)."

    def __init__(self, database, scale, repeat=1):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        self.database = database
        self.scale = scale
        self.repeat = repeat
        self.pool = Pool(database)
        with Transaction().start(database, 0, readonly=True):
            self.pool.init()
            User = self.pool.get('res.user')
            Module = self.pool.get('ir.module')
            admin, = User.search([('login', '=', 'admin')])
            self.user = admin.id
            self.company = admin.company.id if admin.company else None
            self.modules = {m.name for m in Module.search(
                    [('state', '=', 'activated')])}
        with Transaction().start(database, self.user, readonly=True):
            self._user_context = User.get_preferences(context_only=True)
        self.variants = []

    def activated(self, *modules):
        "Tell whether all the modules are activated in the database."
        return set(modules) <= self.modules

    @contextlib.contextmanager
    def transaction(self, commit=False, context=None, **extras):
        from trytond.transaction import Transaction
        ctx = dict(self._user_context)
        ctx.update(context or {})
        transaction = Transaction().start(
            self.database, self.user, context=ctx, **extras)
        try:
            yield transaction
        except BaseException:
            transaction.stop(False)
            raise
        transaction.stop(commit)

    def measure(self, variant, func, baseline=None, *, setup=None,
            commit=False, context=None, repeat=None, extrapolate=None):
        from trytond.transaction import TransactionError
        best = None
        result = None
        extras = {}
        runs = repeat or self.repeat
        while runs:
            try:
                with self.transaction(
                        commit=commit, context=context, **extras) as trans:
                    args = (setup(),) if setup is not None else ()
                    # start func with a cold record cache, as a new
                    # transaction (a request, a queue task) would
                    trans.cache.clear()
                    with count_queries() as counter:
                        start = time.perf_counter()
                        result = func(*args)
                        elapsed = time.perf_counter() - start
            except TransactionError as exception:
                # Retry with the locks asked for, as trytond's dispatcher
                exception.fix(extras)
                continue
            runs -= 1
            if best is None or elapsed < best[0]:
                best = (elapsed, counter.count)
        entry = {
            'variant': variant,
            'baseline': baseline,
            'seconds': best[0],
            'queries': best[1],
            }
        if extrapolate:
            entry.update({
                    'variant': (f'{variant} (extrapolated x{extrapolate:.4g} '
                        'from a sample)'),
                    'seconds': best[0] * extrapolate,
                    'queries': round(best[1] * extrapolate),
                    'sample_seconds': best[0],
                    'sample_queries': best[1],
                    'extrapolated': extrapolate,
                    })
        self.variants.append(entry)
        return result

    def skip(self, reason):
        raise SkipWorkload(reason)
