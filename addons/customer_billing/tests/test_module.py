from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class CustomerBillingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Billing module"
    module = 'customer_billing'


del ModuleTestCase
