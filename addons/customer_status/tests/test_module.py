from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class CustomerStatusTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Status module"
    module = 'customer_status'


del ModuleTestCase
