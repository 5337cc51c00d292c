#!/usr/bin/env python3
"""Run the test suites of the suite's modules and of tests/.

Usage:
    run_tests.py [MODULE ...] [-k PART] [--no-cross]   in this process
    run_tests.py --jobs 2 --backends sqlite,postgresql [MODULE ...]
                                                        scheduled (below)

Each module's ``tests`` package is imported as ``trytond.modules.<name>.tests``
and every ``test_*`` submodule is loaded (its ``load_tests`` protocol, used by
Tryton's doctest scenarios, is honoured).  The cross-module tests in ``tests/``
are discovered after them.

Scheduled (``--jobs N``): the tests are cut into units (a test class, or a
doctest scenario file) and each unit runs, once per backend it belongs to, in
its own child process (``--unit``); N children run at a time, the longest
unit first whatever its backend (durations from the last run's timing file
``var/test-timings.json``, else ``tests/timings.json``, else an estimate).
Each backend's summary gives its duration and its slowest tests; the last
line is ``N passed, N failed, N skipped`` summed over the backends and the
exit status is 1 when anything failed or errored.
"""
import argparse
import fcntl
import hashlib
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')
TIMINGS = os.path.join(ROOT, 'var', 'test-timings.json')
SEED_TIMINGS = os.path.join(ROOT, 'tests', 'timings.json')
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
DEFAULT_ESTIMATE = 60
UNIT_TIMEOUT = 3600

# units that only prove something on one backend (they skip themselves on
# the other): by test module (tests.<file>) or test class
BACKEND_ONLY = {
    'tests.test_deployment': 'postgresql',
    'tests.test_invoicing_run_reliability': 'postgresql',
    'tests.test_invoicing_run_double_bill': 'postgresql',
    'tests.test_invoicing_run_billing_state': 'postgresql',
    'tests.test_invoicing_run_billing_paths': 'postgresql',
    'tests.test_official_modules': 'sqlite',
    # scripts/demo's SQLite default, stopped by signals
    'tests.test_demo': 'sqlite',
    # they check the registration and the exported strings, which do not
    # depend on the database backend
    'tests.test_method_kinds': 'sqlite',
    'tests.test_translations': 'sqlite',
    }


def module_names():
    return sorted(
        n for n in os.listdir(ADDONS)
        if os.path.isfile(os.path.join(ADDONS, n, 'tryton.cfg')))


def test_files(name, pattern=None):
    "The import names of module name's test_* files (tests/ for 'tests')."
    if name == 'tests':
        package, path = 'tests', [os.path.join(ROOT, 'tests')]
    else:
        package = f'trytond.modules.{name}.tests'
        path = importlib.import_module(package).__path__
    return [f'{package}.{info.name}' for info in pkgutil.iter_modules(path)
        if info.name.startswith('test_')
        and (not pattern or pattern in info.name)]


def load_file(loader, file):
    return loader.loadTestsFromModule(importlib.import_module(file))


def load_module_tests(loader, name, pattern):
    suite = unittest.TestSuite()
    for file in test_files(name, pattern):
        suite.addTests(load_file(loader, file))
    return suite


TOGETHER = 'SuiteTogetherTestCase'


def without_generic(suite, keep=False, together=False):
    """Drop the checks every ModuleTestCase inherits from Tryton.

    They check the registration (views, depends, menus, access, rec names,
    ...), which does not depend on the database backend; the checks a module
    writes itself, the scenarios and tests/ are kept.  With together, those
    of the suite-together test case (every module activated in one database)
    are kept as well.
    """
    from trytond.modules.company.tests import CompanyTestMixin
    from trytond.tests.test_tryton import ModuleTestCase
    generic = {n for base in (ModuleTestCase, CompanyTestMixin)
        for n in vars(base) if n.startswith('test')}
    kept = unittest.TestSuite()
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            kept.addTest(without_generic(test, keep, together))
        elif keep == (isinstance(test, ModuleTestCase)
                and test._testMethodName in generic
                and test._testMethodName not in vars(type(test))
                and not (together and type(test).__name__ == TOGETHER)):
            kept.addTest(test)
    return kept


def generic_filter(suite, mode):
    "mode: all, skip, together or only (see main's options)."
    if mode == 'skip':
        return without_generic(suite)
    if mode == 'together':
        return without_generic(suite, together=True)
    if mode == 'only':
        return without_generic(suite, keep=True)
    return suite


def flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from flatten(test)
        else:
            yield test


def unit_of(test):
    "The test class, or the scenario file of a doctest."
    if isinstance(test, unittest.case._SubTest):
        test = test.test_case
    if hasattr(test, '_dt_test'):
        return os.path.basename(test._dt_test.filename)
    cls = type(test)
    if cls.__name__ == '_ErrorHolder':
        # a failed class or module set-up: "setUpClass (tests.x.Class)"
        return test.description.rpartition('(')[2].rstrip(')')
    return f'{cls.__module__}.{cls.__qualname__}'


class TimingResult(unittest.TextTestResult):
    """Record each test's duration and outcome; the time between two tests
    (class and module set-up and tear-down) is counted to the class of the
    next one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = {}
        self.setups = {}
        self.outcomes = {}
        self.reports = []
        self._last = self._start = time.monotonic()

    def startTest(self, test):
        now = time.monotonic()
        key = unit_of(test)
        self.setups[key] = self.setups.get(key, 0) + now - self._last
        self._start = now
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self._last = time.monotonic()
        self.durations[test.id()] = self._last - self._start

    def _outcome(self, test, outcome, err=None):
        self.outcomes[test.id()] = outcome
        if err is not None:
            self.reports.append({'test': test.id(), 'outcome': outcome,
                    'traceback': self._exc_info_to_string(err, test)})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._outcome(test, 'passed')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._outcome(test, 'failed', err)

    def addError(self, test, err):
        super().addError(test, err)
        self._outcome(test, 'failed', err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._outcome(subtest, 'failed', err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._outcome(test, 'skipped')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._outcome(test, 'passed')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._outcome(test, 'failed')
        self.reports.append({'test': test.id(), 'outcome': 'failed',
                'traceback': 'unexpected success'})

    def summary(self):
        return {'tests': self.durations, 'setups': self.setups,
            'outcomes': self.outcomes, 'reports': self.reports}


def patch_template_names(prefix):
    """Name the PostgreSQL template databases of Tryton's DB_CACHE after
    this run (prefix-<hash> instead of test-<hash>): a run creates and
    drops only its own."""
    from trytond.tests import test_tryton
    original = test_tryton._db_cache_file

    def _db_cache_file(path, name):
        result = original(path, name)
        if test_tryton.DB_CACHE.startswith('postgresql://'):
            head, _, tail = result.rpartition('/test-')
            result = f'{head}/{prefix}-{tail}'
        return result
    test_tryton._db_cache_file = _db_cache_file


def lock_db_cache(directory):
    """Serialize Tryton's DB_CACHE per module set across processes: the
    first process to miss the cache activates the modules while the others
    wait for its copy, so no module set is activated twice."""
    from trytond import backend
    from trytond.tests import test_tryton, tools
    restore, backup = test_tryton.restore_db_cache, test_tryton.backup_db_cache
    held = {}

    def restore_db_cache(name):
        if name not in held:
            key = hashlib.sha1(f'{backend.name}:{name}'.encode()).hexdigest()
            lock = open(os.path.join(directory, key + '.lock'), 'w')
            fcntl.flock(lock, fcntl.LOCK_EX)
            held[name] = lock
        if restore(name):
            held.pop(name).close()
            return True
        return False

    def backup_db_cache(name):
        try:
            backup(name)
        finally:
            lock = held.pop(name, None)
            if lock:
                lock.close()
    for module in (test_tryton, tools):
        module.restore_db_cache = restore_db_cache
        module.backup_db_cache = backup_db_cache


def share_activations():
    """One activation per module set, whoever asks for it.

    Tryton names a DB_CACHE entry after the module list as given
    (``activate_module``: ``'-'.join(modules)``, unsorted, so
    ``['a', 'b']`` and ``['b', 'a']`` are two activations) and, for the
    scenarios' ``tools.activate_modules``, after the sorted list plus the
    setup functions (``a-b--create_company``), which it builds from an empty
    database.  Here both sort the set, and a scenario whose setup entry is
    missing starts from the module set's own entry (restored, or activated
    once and kept) and only runs its setups: the module tests, the
    scenarios with any setup and ``support.Site`` (see its build_cached)
    then share one activation of each set per backend."""
    from trytond.tests import test_tryton, tools
    stock_module = test_tryton.activate_module

    def activate_module(modules, lang='en'):
        if isinstance(modules, str):
            modules = [modules]
        return stock_module(sorted(set(modules)), lang=lang)

    def activate_modules(modules, *setup):
        if isinstance(modules, str):
            modules = [modules]
        modules = sorted(set(modules))
        cache_name = '-'.join(modules)
        if setup_name := '|'.join(tools._func_name(f) for f in setup):
            cache_name += f'--{setup_name}'
        if tools.restore_db_cache(cache_name):
            return tools._get_config()
        if test_tryton.db_exist(test_tryton.DB_NAME):
            test_tryton.drop_db()
        # the module set's own entry (restored or built and kept), then
        # the setups on top
        activate_module(modules)
        config = tools._get_config()
        for func in setup:
            func(config=config)
        tools.backup_db_cache(cache_name)
        return config
    test_tryton.activate_module = activate_module
    tools.activate_modules = activate_modules


# scheduled runs

def list_units(modules, cross, pattern, generic):
    """[(unit, file, [test ids])] of the selected tests in file order;
    generic maps a backend to its generic_filter mode."""
    loader = unittest.TestLoader()
    files = [f for name in modules for f in test_files(name, pattern)]
    if cross:
        files += test_files('tests', pattern)
    units = {}
    for file in files:
        suite = load_file(loader, file)
        for backend, mode in generic.items():
            for test in flatten(generic_filter(suite, mode)):
                key = unit_of(test)
                entry = units.setdefault(key, {'file': file, 'tests': {}})
                entry['tests'].setdefault(backend, []).append(test.id())
    return units


# What the PostgreSQL pass runs by default: the tests whose outcome depends
# on the backend (real processes and concurrency, SQL aggregates and locks,
# raw SQL of the portal, migrations); the other tests run on SQLite only.
# TEST_PG_ALL=1 runs every test on both backends.
POSTGRESQL_UNITS = (
    'tests.test_deployment', 'tests.test_invoicing_run_reliability',
    'tests.test_invoicing_run_double_bill',
    'tests.test_invoicing_run_billing_state',
    'tests.test_invoicing_run_billing_paths', 'tests.test_suite_together',
    'trytond.modules.customer_status.tests.test_figures',
    'trytond.modules.customer_status.tests.test_billing',
    'trytond.modules.customer_self_service.tests.test_routes.',
    'scenario_customer_status.rst', 'scenario_invoicing_run',
    'scenario_customer_billing.rst', 'scenario_customer_project.rst',
    'tests.test_authorisation',
    'tests.test_upgrade',
    )

# Tests left out when their variable is 0: Tryton's own scenarios and unit
# tests with the suite activated (TEST_OFFICIAL=0 skips them in a daily
# loop; scripts/test --quick never runs them).
OPT_OUT = {
    'tests.test_official_modules': 'TEST_OFFICIAL',
    }


def backends_of(unit, entry, backends):
    variable = OPT_OUT.get(entry['file'])
    if variable and os.environ.get(variable) == '0':
        return []
    only = BACKEND_ONLY.get(entry['file']) or BACKEND_ONLY.get(unit)
    if (only is None and os.environ.get('TEST_PG_ALL') != '1'
            and not (entry['file'].startswith(POSTGRESQL_UNITS)
                or unit.startswith(POSTGRESQL_UNITS))):
        only = 'sqlite'
    if only is None and 'browser' in entry['file'].rpartition('.')[2]:
        only = ('sqlite' if os.environ.get('BROWSER_TEST_POSTGRESQL') != '1'
            else None)
    return [b for b in backends
        if b in entry['tests'] and (only is None or b == only)]


def load_timings():
    for path in (TIMINGS, SEED_TIMINGS):
        try:
            with open(path) as fd:
                return json.load(fd)
        except (OSError, ValueError):
            continue
    return {}


class Scheduler:
    "Run units in jobs child processes, longest first."

    def __init__(self, args, units):
        self.args = args
        self.logs = args.logs or tempfile.mkdtemp(prefix='test-logs-')
        os.makedirs(self.logs, exist_ok=True)
        self.locks = tempfile.mkdtemp(prefix='test-locks-')
        timings = load_timings()
        self.queue = []
        for unit, entry in units.items():
            for backend in backends_of(unit, entry, args.backends):
                estimate = timings.get(f'{backend}:{unit}', DEFAULT_ESTIMATE)
                self.queue.append((estimate, backend, unit, entry))
        self.queue.sort(key=lambda item: -item[0])
        self.results = []
        self.lock = threading.Lock()
        self.counter = 0

    def env(self, backend, number):
        env = dict(os.environ)
        env.pop('DB_NAME', None)
        env['TEST_LOCK_DIR'] = self.locks
        if backend == 'postgresql':
            prefix = env.setdefault('TEST_DB_PREFIX', f'test_run_{os.getpid()}')
            env['TRYTOND_DATABASE_URI'] = self.args.postgresql
            env['DB_CACHE'] = 'postgresql://'
            env['DB_NAME'] = f'{prefix}_{number}'
        else:
            env.pop('TRYTOND_DATABASE_URI', None)
            env['DB_CACHE'] = self.args.sqlite_cache
        return env

    def run_one(self, item):
        _, backend, unit, entry = item
        with self.lock:
            self.counter += 1
            number = self.counter
        base = os.path.join(self.logs, backend, unit.replace('/', '_'))
        os.makedirs(os.path.dirname(base), exist_ok=True)
        argv = [sys.executable, os.path.abspath(__file__),
            '--unit', unit, '--file', entry['file'],
            '--generic', self.args.generic[backend], '--timing', base + '.json']
        started = time.monotonic()
        with open(base + '.log', 'w') as log:
            popen = subprocess.Popen(argv, env=self.env(backend, number),
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
            timer = threading.Timer(UNIT_TIMEOUT, popen.kill)
            timer.start()
            # wait4: the child's CPU time, a figure the machine's load
            # changes less than the wall-clock time
            _, status, usage = os.wait4(popen.pid, 0)
            popen.returncode = code = os.waitstatus_to_exitcode(status)
            timer.cancel()
        cpu = usage.ru_utime + usage.ru_stime
        ended = time.monotonic()
        try:
            with open(base + '.json') as fd:
                summary = json.load(fd)
        except (OSError, ValueError):
            summary = None
        if summary is None or (code and not any(
                    o == 'failed' for o in summary['outcomes'].values())):
            # crashed or killed: its tests count as failed
            summary = summary or {'tests': {}, 'setups': {}, 'outcomes': {},
                'reports': []}
            for test in entry['tests'][backend]:
                summary['outcomes'].setdefault(test, 'failed')
            summary['reports'].append({'test': unit, 'outcome': 'failed',
                    'traceback': f"exit status {code}, see {base}.log:\n"
                    + tail(base + '.log')})
        with self.lock:
            self.results.append({'backend': backend, 'unit': unit,
                    'start': started, 'end': ended, 'cpu': cpu,
                    'summary': summary})
            self.save_timings()
            counts = count(summary['outcomes'].values())
            print(f"[{ended - self.started:6.0f} s] {backend:10} "
                f"{unit} {ended - started:.1f} s (CPU {cpu:.1f} s): "
                f"{format_counts(counts)}", flush=True)

    def worker(self):
        while True:
            with self.lock:
                if not self.queue:
                    return
                item = self.queue.pop(0)
            self.run_one(item)

    def run(self):
        self.started = time.monotonic()
        print(f"== {len(self.queue)} units on {', '.join(self.args.backends)}"
            f" in {self.args.jobs} processes, longest first "
            f"(logs in {self.logs}; load {load()})", flush=True)
        threads = [threading.Thread(target=self.worker)
            for _ in range(self.args.jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.report()

    def save_timings(self):
        "Record the units' durations so far for the next run's order."
        timings = load_timings() if os.path.exists(TIMINGS) else {}
        for result in self.results:
            timings[f"{result['backend']}:{result['unit']}"] = round(
                result['end'] - result['start'], 1)
        os.makedirs(os.path.dirname(TIMINGS), exist_ok=True)
        with open(TIMINGS, 'w') as fd:
            json.dump(timings, fd, indent=1, sort_keys=True)

    def report(self):
        total = {'passed': 0, 'failed': 0, 'skipped': 0}
        for result in self.results:
            for report in result['summary']['reports']:
                print(f"\n---- {result['backend']}: {report['outcome'].upper()}"
                    f": {report['test']}\n{report['traceback']}")
        for backend in self.args.backends:
            results = [r for r in self.results if r['backend'] == backend]
            if not results:
                continue
            counts = count(o for r in results
                for o in r['summary']['outcomes'].values())
            for key in total:
                total[key] += counts[key]
            busy = sum(r['end'] - r['start'] for r in results)
            span = (max(r['end'] for r in results)
                - min(r['start'] for r in results))
            print(f"\n== {backend}: {format_counts(counts)} in "
                f"{len(results)} units, {busy:.0f} s of process time, "
                f"{span:.0f} s from its first start to its last end")
            tests = sorted(((d, t) for r in results
                    for t, d in r['summary']['tests'].items()), reverse=True)
            print(f"   slowest tests ({backend}):")
            for duration, test in tests[:10]:
                print(f"   {duration:7.1f} s  {test}")
            units = sorted(((r['end'] - r['start'], r['cpu'], r['unit'])
                    for r in results), reverse=True)
            print(f"   slowest units ({backend}, with set-up; CPU time):")
            for duration, cpu, unit in units[:10]:
                print(f"   {duration:7.1f} s  {cpu:7.1f} s  {unit}")
        print(f"\n== total {time.monotonic() - self.started:.0f} s "
            f"(load at the end {load()})")
        print(format_counts(total))
        return 1 if total['failed'] else 0


def load():
    return ' '.join(f'{v:.1f}' for v in os.getloadavg())


def count(outcomes):
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    for outcome in outcomes:
        counts[outcome] += 1
    return counts


def format_counts(counts):
    return (f"{counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped")


def tail(path, size=3000):
    try:
        with open(path, 'rb') as fd:
            fd.seek(0, os.SEEK_END)
            fd.seek(max(0, fd.tell() - size))
            return fd.read().decode(errors='replace')
    except OSError:
        return ''


def category(test, generic):
    "The profile's row of a test id."
    name = test.rpartition('.')[2]
    if test.startswith('tests.test_deployment') or test.startswith(
            'tests.test_invoicing_run_reliability'):
        return 'deployment and reliability'
    if test.startswith('tests.') and 'browser' in test.split('.')[1]:
        return 'browser'
    if test.endswith('_rst'):
        return 'scenarios'
    if name in generic:
        return 'generic checks'
    return 'other tests'


def profile(directory):
    """Markdown tables of a scheduled run's logs (directory/<backend>/
    <unit>.json): where the time goes per backend and per unit."""
    from trytond.modules.company.tests import CompanyTestMixin
    from trytond.tests.test_tryton import ModuleTestCase
    generic = {n for base in (ModuleTestCase, CompanyTestMixin)
        for n in vars(base) if n.startswith('test')}
    rows, units = {}, []
    for backend in sorted(os.listdir(directory)):
        path = os.path.join(directory, backend)
        if not os.path.isdir(path):
            continue
        for file in sorted(os.listdir(path)):
            if not file.endswith('.json'):
                continue
            with open(os.path.join(path, file)) as fd:
                data = json.load(fd)
            setup = sum(data['setups'].values())
            key = (backend, 'class set-up: database, module activation')
            rows[key] = rows.get(key, 0) + setup
            for test, duration in data['tests'].items():
                key = (backend, category(test, generic))
                rows[key] = rows.get(key, 0) + duration
            units.append((setup + sum(data['tests'].values()), backend,
                    file[:-len('.json')], setup, len(data['tests'])))
    lines = ['| backend | what | seconds |', '|---|---|---:|']
    for (backend, what), seconds in sorted(rows.items()):
        lines.append(f'| {backend} | {what} | {seconds:.0f} |')
    lines += ['', '| backend | unit | tests | set-up s | total s |',
        '|---|---|---:|---:|---:|']
    for total, backend, unit, setup, tests in sorted(units, reverse=True):
        lines.append(f'| {backend} | {unit} | {tests} | {setup:.0f} '
            f'| {total:.0f} |')
    print('\n'.join(lines))


def tryton_cache(modules):
    """Child of a unit (support.Site.from_tryton_cache): make sure Tryton's
    DB_CACHE has an entry for modules, activating them if needed."""
    if os.environ.get('TEST_LOCK_DIR'):
        lock_db_cache(os.environ['TEST_LOCK_DIR'])
    share_activations()
    from trytond.tests import test_tryton
    test_tryton.activate_module(modules)
    test_tryton.drop_db()


def run_unit(args):
    "Child of a scheduled run: the tests of one unit of one file."
    if os.environ.get('TEST_LOCK_DIR'):
        lock_db_cache(os.environ['TEST_LOCK_DIR'])
    share_activations()
    suite = unittest.TestSuite()
    try:
        tests = generic_filter(
            load_file(unittest.TestLoader(), args.file), args.generic)
        suite.addTests(t for t in flatten(tests) if unit_of(t) == args.unit)
    except Exception:
        traceback.print_exc()
        sys.exit(2)
    return suite


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('modules', nargs='*')
    parser.add_argument('--no-cross', action='store_true',
        help="skip the cross-module tests in tests/")
    parser.add_argument('--only-cross', action='store_true')
    parser.add_argument('--skip-generic', action='store_true',
        help="skip the generic checks inherited from ModuleTestCase")
    parser.add_argument('--generic-together', action='store_true',
        help="skip the generic checks of each module but keep them with "
        "every module activated together (tests/test_suite_together.py)")
    parser.add_argument('--only-generic', action='store_true',
        help="only the generic checks inherited from ModuleTestCase")
    parser.add_argument('-k', dest='pattern', default=None,
        help="only test files whose name contains this")
    parser.add_argument('-u', dest='unit_part', default=None,
        help="scheduled run: only units (test class or scenario file) "
        "whose name contains this (or one of these, comma separated)")
    parser.add_argument('-q', dest='verbosity', action='store_const', const=1,
        default=2, help="dots instead of one line per test")
    parser.add_argument('--timing', metavar='FILE',
        help="write each test's duration and outcome (JSON)")
    parser.add_argument('--jobs', type=int, default=0,
        help="scheduled run in this many child processes")
    parser.add_argument('--backends', default='sqlite',
        help="scheduled run: sqlite, postgresql or both (comma separated)")
    parser.add_argument('--pg-generic', default='together',
        choices=['all', 'skip', 'together'],
        help="scheduled run: generic checks on PostgreSQL (default only "
        "with every module activated together)")
    parser.add_argument('--postgresql', default='postgresql://127.0.0.1:5432/',
        help="scheduled run: the PostgreSQL server")
    parser.add_argument('--sqlite-cache',
        default=os.path.join(ROOT, 'var', 'test-cache', 'sqlite'),
        help="scheduled run: DB_CACHE of the SQLite children")
    parser.add_argument('--logs', help="scheduled run: a log per unit here")
    parser.add_argument('--profile', metavar='LOGS',
        help="print the time tables of a scheduled run's logs")
    parser.add_argument('--tryton-cache', help=argparse.SUPPRESS)
    parser.add_argument('--unit', help=argparse.SUPPRESS)
    parser.add_argument('--file', help=argparse.SUPPRESS)
    parser.add_argument('--generic', default='all', help=argparse.SUPPRESS)
    args = parser.parse_args()
    # before trytond's backend is imported: fresh catalog statistics while
    # Tryton activates modules on PostgreSQL (see pgstats)
    import pgstats
    pgstats.install()
    if args.profile:
        return profile(args.profile)
    if os.environ.get('TEST_DB_PREFIX'):
        patch_template_names(os.environ['TEST_DB_PREFIX'])
    unknown = set(args.modules) - set(module_names())
    if unknown:
        parser.error(f"no such module: {', '.join(sorted(unknown))}")
    mode = ('skip' if args.skip_generic else 'together'
        if args.generic_together else 'only' if args.only_generic else 'all')
    if args.tryton_cache:
        return tryton_cache(args.tryton_cache.split(','))
    if args.jobs:
        args.backends = args.backends.split(',')
        args.generic = {'sqlite': mode, 'postgresql': args.pg_generic}
        modules = [] if args.only_cross else (args.modules or module_names())
        cross = not args.no_cross and not args.modules
        units = list_units(modules, cross, args.pattern,
            {b: args.generic[b] for b in args.backends})
        if args.unit_part:
            parts = args.unit_part.split(',')
            units = {k: v for k, v in units.items()
                if any(part in k for part in parts)}
        sys.exit(Scheduler(args, units).run())
    if args.unit:
        suite = run_unit(args)
    else:
        loader = unittest.TestLoader()
        suite = unittest.TestSuite()
        if not args.only_cross:
            for name in args.modules or module_names():
                suite.addTests(load_module_tests(loader, name, args.pattern))
        if not args.no_cross and not args.modules:
            suite.addTests(loader.discover(
                    os.path.join(ROOT, 'tests'), top_level_dir=ROOT))
        suite = generic_filter(suite, mode)
    result = unittest.TextTestRunner(verbosity=args.verbosity,
        failfast=False, resultclass=TimingResult).run(suite)
    if args.timing:
        with open(args.timing, 'w') as fd:
            json.dump(result.summary(), fd, indent=1)
    if not args.unit:
        counts = count(result.outcomes.values())
        for test, _ in result.errors:
            if test.id() not in result.outcomes:
                counts['failed'] += 1
        print(format_counts(counts))
    sys.exit(not result.wasSuccessful())


if __name__ == '__main__':
    main()
