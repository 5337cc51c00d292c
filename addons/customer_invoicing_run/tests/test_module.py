# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class CustomerInvoicingRunTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Invoicing Run module"
    module = 'customer_invoicing_run'


del ModuleTestCase
