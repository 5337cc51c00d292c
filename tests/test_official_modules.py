"""Tryton's own tests of the official modules, with the suite activated.

Administrators install the suite into a database that already runs Tryton's
official modules, so everything stock does must keep working beside it.
This runs the doctest scenarios (``tests/scenario_*.rst``) and the unit
tests (``tests/test_module.py``) of every official module the suite extends
or depends on, with the five modules of the suite activated beside the
modules each test asks for:

* scenarios: ``trytond.tests.tools.activate_modules`` is replaced by one that
  activates, beside the requested modules, the suite and every guarded
  official module (what an administrator runs beside the suite): one module
  set, so ``DB_CACHE`` builds one database per setup functions (none,
  ``create_company``, ``create_company`` + ``create_chart``) for all of them,
  instead of one per module set; scenarios of a module that does not
  depend on ``account_invoice`` get the fiscal year's invoice sequences
  (``account_invoice`` requires them once activated);
* unit tests: each official ``ModuleTestCase`` is subclassed to activate the
  same module set (its cache entry is the scenarios' one without setup).
  Tryton's generic checks inherited from ``ModuleTestCase`` and
  ``CompanyTestMixin`` (registration, views, access) are left out: they run
  with every module of the suite together in ``tests/test_suite_together.py``;
  ``TEST_OFFICIAL_GENERIC=1`` runs them here too.  A module whose only tests
  are these generic checks and which has no scenario (``project_plan``,
  ``timesheet``: their ``test_module.py`` declares no test of its own) keeps
  them, checked on its own models with the suite activated: else nothing of
  it would run.

Each official module gives two test classes, ``Official<Module>Scenarios``
(one test per scenario file and configuration) and
``Official<Module>Tests``, so a scheduler can spread the modules over
processes (e.g. ``python -m unittest tests.test_official_modules.
OfficialAccountScenarios``).  ``TEST_OFFICIAL_MODULES=account,sale`` limits
the modules.  The guard runs on SQLite (the PostgreSQL pass skips it unless
``TEST_OFFICIAL_POSTGRESQL=1``).

``ALLOWED`` lists the stock tests the suite makes fail on purpose, each with
its reason (also in the changing module's ``doc/design.rst``): they run as
expected failures, so one that starts passing again is reported.
"""
import doctest
import glob
import importlib
import inspect
import json
import os
import unittest

from trytond import backend
from trytond.modules import get_module_info
from trytond.tests import test_tryton, tools

from .test_suite_together import SUITE

MODULES_DIR = os.path.dirname(importlib.import_module(
        'trytond.modules.account').__path__[0])

# The official modules the suite extends or depends on (edocument_ubl's
# and project_revenue's tests need purchase and document_incoming_invoice,
# which the suite does not use).
OFFICIAL = [
    'account', 'account_credit_limit', 'account_dunning', 'account_invoice',
    'account_payment', 'bank', 'company', 'party', 'project',
    'project_invoice', 'project_plan', 'sale', 'sale_credit_limit',
    'sale_invoice_grouping', 'sale_subscription', 'timesheet',
    'timesheet_cost', 'web_user',
    ]

# (module, scenario file or test method name): reason
ALLOWED = {
    ('web_user', 'test_reset_password'): (
        "customer_self_service stores the reset password token hashed "
        "(only its digest is in the database); the stock test compares the "
        "stored token with the one sent in the email"),
    ('sale_credit_limit', 'test_check_credit_limit'): (
        "customer_status warns when a quotation brings the exposure over "
        "the credit limit; the stock test quotes a sale over the limit and "
        "expects the warning only at confirmation"),
    ('project', 'scenario_project_status.rst'): (
        "customer_project keeps a customer project's status in step with "
        "its stage and refuses any other status (one lifecycle seen from "
        "both sides); the stock scenario gives a project its own statuses"),
    }

# The extras the official unit tests and scenarios activate.
EXTRAS = ['account_statement', 'account_statement_rule']

RUN = os.environ.get('TEST_OFFICIAL_POSTGRESQL') or backend.name == 'sqlite'
RUN_REASON = "the official modules' guard runs on SQLite"


def _module_set(modules):
    """Return the modules to activate for a test asking for modules

    Every test gets the suite, all the guarded official modules and the
    extras of their unit tests (the modules an administrator runs beside the
    suite): one database per setup serves them all through DB_CACHE."""
    return sorted(set(modules) | set(SUITE) | set(OFFICIAL) | set(EXTRAS))


def _selected():
    names = os.environ.get('TEST_OFFICIAL_MODULES')
    if names:
        return [n for n in names.split(',') if n]
    return OFFICIAL


def _depends_on(module, target, seen=None):
    "Tell whether module depends (transitively) on target"
    seen = set() if seen is None else seen
    if module in seen:
        return False
    seen.add(module)
    depends = get_module_info(module).get('depends', [])
    return target in depends or any(
        _depends_on(d, target, seen) for d in depends)


def _class_name(module):
    return 'Official' + ''.join(p.capitalize() for p in module.split('_'))


# Scenarios

_stock_activate_modules = tools.activate_modules


def _activate_with_suite(modules, *setup):
    "activate_modules with the suite and the guarded modules"
    if isinstance(modules, str):
        modules = [modules]
    return _stock_activate_modules(_module_set(modules), *setup)


def _create_fiscalyear_with_invoice_sequences(stock):
    def create_fiscalyear(*args, **kwargs):
        from trytond.modules.account_invoice.tests.tools import (
            set_fiscalyear_invoice_sequences)
        fiscalyear = stock(*args, **kwargs)
        return set_fiscalyear_invoice_sequences(
            fiscalyear, config=kwargs.get('config'))
    return create_fiscalyear


class _Patches:
    "Replace module attributes for one scenario (undone at tear down)"

    def __init__(self, invoice_sequences):
        from trytond.modules.account.tests import tools as account_tools
        self.patches = [(tools, 'activate_modules', _activate_with_suite)]
        if invoice_sequences:
            self.patches.append((account_tools, 'create_fiscalyear',
                    _create_fiscalyear_with_invoice_sequences(
                        account_tools.create_fiscalyear)))
        self.saved = []

    def start(self, test):
        test_tryton.doctest_setup(test)
        for target, name, value in self.patches:
            self.saved.append((target, name, getattr(target, name)))
            setattr(target, name, value)

    def stop(self, test):
        try:
            test_tryton.doctest_teardown(test)
        finally:
            while self.saved:
                setattr(*self.saved.pop())


def _scenario_suite(module, path, globs):
    patches = _Patches(not _depends_on(module, 'account_invoice'))
    optionflags = (
        doctest.REPORT_ONLY_FIRST_FAILURE
        | doctest.ELLIPSIS
        | doctest.IGNORE_EXCEPTION_DETAIL)
    if backend.name == 'sqlite':
        optionflags |= test_tryton.STRIP_DECIMAL
    return doctest.DocFileSuite(
        path, module_relative=False, globs=dict(globs),
        setUp=patches.start, tearDown=patches.stop, encoding='utf-8',
        checker=test_tryton.doctest_checker, optionflags=optionflags)


def _run_scenario(self, module, path, globs):
    result = unittest.TestResult()
    _scenario_suite(module, path, globs).run(result)
    problems = result.failures + result.errors
    if problems:
        self.fail('\n'.join(text for _, text in problems))


def _scenarios(module):
    directory = os.path.join(MODULES_DIR, module, 'tests')
    for path in sorted(glob.glob(os.path.join(directory, 'scenario_*.rst'))):
        name = os.path.splitext(os.path.basename(path))[0]
        config = os.path.splitext(path)[0] + '.json'
        if os.path.exists(config):
            with open(config) as fp:
                configs = json.load(fp)
        else:
            configs = [{}]
        for i, globs in enumerate(configs):
            yield (name if len(configs) == 1 else f'{name}_{i}'), path, globs


def _scenario_test(module, name, path, globs):
    def test(self):
        _run_scenario(self, module, path, globs)
    test.__name__ = f'test_{name}'
    test.__doc__ = f"{module}: {os.path.basename(path)} {globs or ''}"
    if (module, os.path.basename(path)) in ALLOWED:
        test = unittest.expectedFailure(test)
    return test


def _scenario_case(module):
    attrs = {}
    for name, path, globs in _scenarios(module):
        attrs[f'test_{name}'] = _scenario_test(module, name, path, globs)
    if not attrs:
        return None
    attrs['__doc__'] = f"Scenarios of {module} with the suite activated"
    attrs['__module__'] = __name__
    return unittest.skipUnless(RUN, RUN_REASON)(
        type(_class_name(module) + 'Scenarios', (unittest.TestCase,), attrs))


# Unit tests

def _generic_names():
    from trytond.modules.company.tests import CompanyTestMixin
    from trytond.tests.test_tryton import ModuleTestCase
    return {n for base in (ModuleTestCase, CompanyTestMixin)
        for n in vars(base) if n.startswith('test')}


def _activate_sorted(modules, lang='en'):
    "activate_module with the same module set as the scenarios"
    return _stock_activate_module(_module_set(modules), lang=lang)


_stock_activate_module = test_tryton.activate_module


class _WithSuite:
    "Activate the suite beside the official module's test case"

    @classmethod
    def setUpClass(cls):
        test_tryton.activate_module = _activate_sorted
        try:
            super().setUpClass()
        finally:
            test_tryton.activate_module = _stock_activate_module


def _unit_case(module):
    from trytond.tests.test_tryton import ModuleTestCase
    try:
        tests = importlib.import_module(
            f'trytond.modules.{module}.tests.test_module')
    except ImportError:
        return None
    bases = [c for c in vars(tests).values()
        if inspect.isclass(c) and issubclass(c, ModuleTestCase)
        and c.__module__ == tests.__name__
        and getattr(c, 'module', None) == module]
    if not bases:
        return None
    base, = bases
    attrs = {
        '__doc__': f"Unit tests of {module} with the suite activated",
        '__module__': __name__,
        }
    generic = {name for name in _generic_names()
        if not any(name in vars(c) for c in base.__mro__
            if not c.__module__.startswith('trytond.tests.')
            and c.__name__ != 'CompanyTestMixin')}
    own = {n for n in dir(base)
        if n.startswith('test') and n not in generic
        and callable(getattr(base, n))}
    # A module whose only tests are the generic checks, without scenarios
    # (project_plan, timesheet), keeps them: else nothing of it would run
    # (tests/test_suite_together.py checks the models of the suite only)
    only_generic = not own and not any(True for _ in _scenarios(module))
    if not only_generic and not os.environ.get('TEST_OFFICIAL_GENERIC'):
        attrs.update(dict.fromkeys(generic))
    for name in dir(base):
        if (module, name) in ALLOWED:
            attrs[name] = unittest.expectedFailure(getattr(base, name))
    case = type(_class_name(module) + 'Tests', (_WithSuite, base), attrs)
    if not any(callable(getattr(case, n, None))
            for n in dir(case) if n.startswith('test')):
        return None
    return unittest.skipUnless(RUN, RUN_REASON)(case)


def _build():
    for module in _selected():
        for case in (_scenario_case(module), _unit_case(module)):
            if case is not None:
                globals()[case.__name__] = case


_build()
