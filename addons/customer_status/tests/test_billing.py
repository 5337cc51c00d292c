"""customer_status with customer_billing: what a branch owes through the
invoices billed to its headquarter"""
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .tools import (
    D, add_currency_rate, create_chart, create_company, create_currency,
    create_fiscalyears, create_invoice, set_company)

try:
    import trytond.modules.customer_billing as customer_billing
except ImportError:
    customer_billing = None


@unittest.skipIf(customer_billing is None, "customer_billing not installed")
class CustomerStatusBillingTestCase(unittest.TestCase):
    "Test the figures of a branch billed through its headquarter"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module(['customer_status', 'customer_billing'])
        # like ModuleTestCase: close the connections of the database so that
        # the scenarios can restore it from the template
        cls.addClassCleanup(drop_db)

    @with_transaction()
    def test_billed_through_headquarter(self):
        """The branch's 500 invoiced to the headquarter: branch balance 0,
        owed through the headquarter 500; the headquarter owes 500 + its own
        100 = 600"""
        pool = Pool()
        Party = pool.get('party.party')
        Status = pool.get('customer.status')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        company = create_company('A', currency=usd)
        with set_company(company):
            create_chart(company)
            create_fiscalyears(company, [2025])
            headquarter, = Party.create([
                    {'name': 'HQ', 'addresses': [('create', [{}])]}])
            branch, = Party.create([{
                        'name': 'Branch', 'headquarter': headquarter.id,
                        'addresses': [('create', [{}])]}])
            create_invoice(
                company, headquarter, D(2025, 3, 1), D(2025, 3, 31), 500,
                originating_customer=branch)
            create_invoice(
                company, headquarter, D(2025, 4, 1), D(2025, 4, 30), 100)
            period = D(2025, 1, 1), D(2025, 12, 31)
            branch_status = Status.get_status(branch, [company], *period)
            hq_status = Status.get_status(headquarter, [company], *period)
        self.assertEqual(branch_status['balance'], Decimal(0))
        self.assertEqual(branch_status['billed_through'], Decimal('500.00'))
        self.assertEqual(hq_status['balance'], Decimal('600.00'))
        self.assertEqual(hq_status['billed_through'], None)
