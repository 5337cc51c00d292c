"""The invoicing run's credit limit warning with customer_status activated

customer_status makes the party's credit amount its exposure, which counts
the confirmed sales not invoiced: the run adds only what is not in it yet.
"""
import unittest
from decimal import Decimal

from trytond.modules.customer_status.tests.tools import (
    create_chart, create_company, create_currency, create_fiscalyears,
    create_invoice, create_sale, get_accounts, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .test_suite_together import SUITE


class InvoicingRunCreditTestCase(unittest.TestCase):
    "The run's credit check counts each amount of the exposure once"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module(SUITE)
        cls.addClassCleanup(drop_db)

    @with_transaction()
    def test_credit_limit_warning(self):
        """Customer C, credit limit 1000, today T:
          INV  posted invoice of 300                      balance    300
          S1   processing sale, 4 x 100 = 400, not invoiced  sales    400
        exposure = credit amount = 300 + 400 = 700.
        The run bills S1's line (400, tax not counted: the exposure counts
        the sale untaxed) and a manual line of 2 x 150 = 300 (untaxed, as a
        draft invoice is counted): it adds 300, not 700;
        700 + 300 = 1000 is not over 1000, no warning (adding the sale again
        would give 1400 and a warning of 400).
        With a manual line of 2 x 175 = 350: 700 + 350 = 1050, exceeded by
        50."""
        pool = Pool()
        Party = pool.get('party.party')
        Sale = pool.get('sale.sale')
        Run = pool.get('customer.invoicing.run')
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        usd = create_currency('USD')
        company = create_company('A', currency=usd)
        with set_company(company):
            today = pool.get('ir.date').today()
            create_chart(company)
            create_fiscalyears(company, [today.year])
            accounts = get_accounts(company)
            c, = Party.create([{
                        'name': 'C', 'addresses': [('create', [{}])]}])
            c.credit_limit_amount = Decimal(1000)
            c.save()
            create_invoice(company, c, today, today, 300)
            s1 = create_sale(company, c, 4, 100)
            Sale.quote([s1])
            Sale.confirm([s1])
            Sale.process([s1])
            self.assertEqual(Party(c.id).credit_amount, Decimal('700.00'))

            run = Run(company=company, cutoff_date=today, invoice_date=today)

            def invoice(manual_price):
                sale_line, = s1.lines
                return Invoice(party=c, lines=[
                        Line(type='line', quantity=4,
                            unit_price=Decimal(100), origin=sale_line,
                            amount=Decimal(400), account=accounts['revenue']),
                        Line(type='line', quantity=2,
                            unit_price=Decimal(manual_price),
                            amount=2 * Decimal(manual_price),
                            account=accounts['revenue']),
                        Line(type='comment', description="Note"),
                        ])

            amount = run._credit_amount(invoice(150))
            self.assertEqual(amount, Decimal(300))
            self.assertIsNone(run._credit_limit_warning(c, amount))
            amount = run._credit_amount(invoice(175))
            self.assertEqual(amount, Decimal(350))
            self.assertEqual(run._credit_limit_warning(c, amount),
                # amounts in the company's currency, formatted by the
                # user's language
                'The credit limit of "C" (USD1000.00) is exceeded by '
                'USD50.00.')
