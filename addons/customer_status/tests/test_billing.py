"""customer_status with customer_billing: what a branch owes through the
invoices billed to its headquarter, and the group credit limit of a
headquarter"""
import unittest
from decimal import Decimal

from trytond.exceptions import UserError, UserWarning
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .tools import (
    D, add_currency_rate, create_chart, create_company, create_currency,
    create_fiscalyears, create_invoice, create_move, set_company)

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

    @with_transaction()
    def test_group_limit(self):
        """A headquarter's group limit covers every member's exposure

        HQ (group limit 1000) with branches B1 and B2, and P without branch,
        today T:
          HQ  posted invoice 300                   exposure 300
          B1  posted invoice 200                   exposure 200
          B2  draft invoice 150 and a draft
              payment move of -50                  exposure 100
        group exposure = 300 + 200 + 100 = 600, available 1000 - 600 = 400;
        B1's status: its own exposure 200 (no limit of its own) and the
        group's 1000 / 600 / 400.  HQ's credit amount is the group's 600.
        A sale of 400 for B1: 600 + 400 = 1000, not over; 401: 1001, over
        the group limit (stock's check raises for B1 through HQ)."""
        pool = Pool()
        Party = pool.get('party.party')
        Status = pool.get('customer.status')
        Date = pool.get('ir.date')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        company = create_company('A', currency=usd)
        with set_company(company):
            today = Date.today()
            create_chart(company)
            create_fiscalyears(company, [today.year])
            hq, p = Party.create([
                    {'name': 'HQ', 'addresses': [('create', [{}])]},
                    {'name': 'P', 'addresses': [('create', [{}])]}])
            b1, b2 = Party.create([{
                        'name': name, 'headquarter': hq.id,
                        'addresses': [('create', [{}])]}
                    for name in ['B1', 'B2']])
            hq = Party(hq.id)
            hq.credit_limit_amount = Decimal(1000)
            hq.credit_limit_group = True
            hq.save()
            create_invoice(company, hq, today, today, 300)
            create_invoice(company, b1, today, today, 200)
            create_invoice(company, b2, today, today, 150, post=False)
            create_move(company, b2, today, -50, post=False)

            values = Status.get_status(Party(b1.id), [company], today, today)
            self.assertEqual(values['exposure'], Decimal('200.00'))
            self.assertIsNone(values['credit_limit'])
            self.assertEqual(values['group_headquarter'], hq.id)
            self.assertEqual(values['group_credit_limit'], Decimal('1000.00'))
            self.assertEqual(values['group_exposure'], Decimal('600.00'))
            self.assertEqual(
                values['group_exposure_available'], Decimal('400.00'))
            values = Status.get_status(Party(hq.id), [company], today, today)
            self.assertEqual(values['exposure'], Decimal('300.00'))
            self.assertEqual(values['group_exposure'], Decimal('600.00'))
            values = Status.get_status(Party(p.id), [company], today, today)
            self.assertIsNone(values['group_exposure'])

            self.assertEqual(Party(hq.id).credit_amount, Decimal('600.00'))
            self.assertEqual(Party(b1.id).credit_amount, Decimal('200.00'))
            b1 = Party(b1.id)
            self.assertIsNone(b1.credit_exceeded(Decimal(400), company))
            self.assertEqual(
                b1.credit_exceeded(Decimal(401), company),
                (Decimal('1001.00'), Decimal('1000.00'), hq))
            b1.check_credit_limit(Decimal(400), company, origin=b1)
            with self.assertRaises(UserWarning):
                # the root user is in stock's credit limit group: a warning
                b1.check_credit_limit(Decimal(401), company, origin=b1)

            # a group limit is for a headquarter only (last: the failed
            # saves are not rolled back in the test transaction)
            for party in [b1, p]:
                party = Party(party.id)
                party.credit_limit_amount = Decimal(500)
                party.credit_limit_group = True
                with self.assertRaisesRegex(
                        UserError, 'not a headquarter with branches'):
                    party.save()

