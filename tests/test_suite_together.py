"""All the suite's modules activated together in one database.

Each module's own ModuleTestCase activates that module alone (with its
dependencies); this runs Tryton's generic checks (views, depends, field
access, buttons, rec names, menus, ...) once more with every module of the
suite installed at the same time, which is how the demo and a deployment run
them: an override in one module that breaks another shows up here.
"""
import os

from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase

ADDONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'addons')
SUITE = sorted(
    n for n in os.listdir(ADDONS)
    if os.path.isfile(os.path.join(ADDONS, n, 'tryton.cfg')))


class SuiteTogetherTestCase(CompanyTestMixin, ModuleTestCase):
    "Generic checks with every module of the suite activated"
    module = SUITE[0]
    extras = SUITE[1:]


del ModuleTestCase
