#!/usr/bin/env python3
"""Run the test suites of the suite's modules and of tests/ in one runner.

Usage: run_tests.py [MODULE ...] [--no-cross]

Each module's ``tests`` package is imported as ``trytond.modules.<name>.tests``
and every ``test_*`` submodule is loaded (its ``load_tests`` protocol, used by
Tryton's doctest scenarios, is honoured).  The cross-module tests in ``tests/``
are discovered after them.
"""
import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')


def module_names():
    return sorted(
        n for n in os.listdir(ADDONS)
        if os.path.isfile(os.path.join(ADDONS, n, 'tryton.cfg')))


def load_module_tests(loader, name, pattern):
    package = importlib.import_module(f'trytond.modules.{name}.tests')
    suite = unittest.TestSuite()
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith('test_'):
            continue
        if pattern and pattern not in info.name:
            continue
        module = importlib.import_module(f'{package.__name__}.{info.name}')
        suite.addTests(loader.loadTestsFromModule(module))
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


class TimingResult(unittest.TextTestResult):
    """Record each test's duration; the time between two tests (class and
    module set-up and tear-down) is counted to the class of the next."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = {}
        self.setups = {}
        self._last = time.monotonic()

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


def unit_of(test):
    "The test class, or the scenario file of a doctest."
    if isinstance(test, unittest.case._SubTest):
        test = test.test_case
    cls = type(test)
    if hasattr(test, '_dt_test'):
        return os.path.basename(test._dt_test.filename)
    return f'{cls.__module__}.{cls.__qualname__}'


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
    parser.add_argument('-q', dest='verbosity', action='store_const', const=1,
        default=2, help="dots instead of one line per test")
    parser.add_argument('--timing', metavar='FILE',
        help="write each test's and each class's set-up duration (JSON)")
    args = parser.parse_args()
    if os.environ.get('TEST_DB_PREFIX'):
        patch_template_names(os.environ['TEST_DB_PREFIX'])
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    if not args.only_cross:
        for name in args.modules or module_names():
            suite.addTests(load_module_tests(loader, name, args.pattern))
    if not args.no_cross and not args.modules:
        suite.addTests(loader.discover(
                os.path.join(ROOT, 'tests'), top_level_dir=ROOT))
    if args.skip_generic:
        suite = without_generic(suite)
    elif args.generic_together:
        suite = without_generic(suite, together=True)
    elif args.only_generic:
        suite = without_generic(suite, keep=True)
    result = unittest.TextTestRunner(verbosity=args.verbosity,
        failfast=False, resultclass=TimingResult).run(suite)
    if args.timing:
        with open(args.timing, 'w') as fd:
            json.dump({'tests': result.durations,
                    'setups': result.setups}, fd, indent=1)
    sys.exit(not result.wasSuccessful())


if __name__ == '__main__':
    main()
