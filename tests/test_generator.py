"""Tests of the demo/benchmark data generator (bench/generator.py).

A small scale is generated (ORM path) into a fresh database built with
trytond's own test helpers (SQLite unless TRYTOND_DATABASE_URI says
otherwise; DB_CACHE makes the module activation a file copy).
"""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction

from bench.generator import Generator

MODULES = ['account_invoice', 'sale', 'project_invoice', 'timesheet']
TODAY = dt.date(2026, 11, 27)


class GeneratorTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(MODULES)
        cls.generator = Generator(DB_NAME, 3, seed=7, today=TODAY,
            invoices_per_customer=3, bulk=False, log=lambda m: None)
        cls.summary = cls.generator.run()

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def cursor(self):
        return Transaction().connection.cursor()

    def test_summary(self):
        "Customers, invoices and receivable lines are generated"
        self.assertEqual(self.summary['customers'], 3)
        # 3 customers x ~3 invoices + 2 x 2 for the second company
        # + 3 processed sales
        self.assertGreaterEqual(self.summary['invoices'], 10)
        self.assertGreater(self.summary['receivable_lines'],
            self.summary['invoices'])

    def test_moves_balanced_and_posted(self):
        "Every move is posted and balanced"
        with Transaction().start(DB_NAME, 0, readonly=True):
            cursor = self.cursor()
            cursor.execute('SELECT COUNT(*) FROM account_move '
                "WHERE state != 'posted'")
            self.assertEqual(cursor.fetchone()[0], 0)
            cursor.execute('SELECT move, debit, credit '
                'FROM account_move_line')
            balances = {}
            for move, debit, credit in cursor:
                balances[move] = (balances.get(move, Decimal(0))
                    + Decimal(str(debit)) - Decimal(str(credit)))
            self.assertEqual(
                {m: b for m, b in balances.items() if b}, {})
            cursor.execute('SELECT COUNT(*) FROM account_move')
            self.assertGreater(cursor.fetchone()[0], 10)

    def test_receivable_matches_plans(self):
        "Each customer's receivable is what its invoices and payments leave"
        pool = self.generator.pool
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        company = self.generator.companies[0]['id']
        expected = {c['id']: Decimal(0) for c in self.generator.customers}
        scenarios = set()
        with Transaction().start(DB_NAME, 0, readonly=True,
                context={'company': company}):
            planned = set()
            for plan in self.generator.plans:
                invoice = Invoice(plan['invoice'])
                planned.add(invoice.id)
                total = invoice.total_amount
                # Hand derivation of what stays open: a payment of a
                # fraction pays round(total * fraction); a fraction of 1
                # (or a write-off, or a credit) settles the invoice.
                opened = total
                for offset, kind, arg in plan['events']:
                    if plan['date'] + dt.timedelta(days=offset) > TODAY:
                        continue
                    if kind == 'pay' and arg != 1:
                        opened -= (total * Decimal(str(arg))).quantize(
                            Decimal('0.01'))
                    else:
                        opened = Decimal(0)
                expected[plan['customer']['id']] += opened
                scenarios.add(plan['scenario'])
                self.assertEqual(invoice.state,
                    'paid' if not opened and plan['scenario'] not in
                    {'credited'} else
                    'cancelled' if plan['scenario'] == 'credited'
                    and not opened else 'posted', plan['scenario'])
            # Invoices of processed sales are posted and not paid
            for invoice in Invoice.search([
                    ('company', '=', company),
                    ('id', 'not in', list(planned))]):
                self.assertEqual(invoice.state, 'posted')
                expected[invoice.party.id] += invoice.total_amount
            parties = Party.browse(list(expected))
            self.assertEqual(
                {p.id: p.receivable for p in parties}, expected)
            self.assertGreater(sum(expected.values()), 0)
        # The plans of 9 invoices cover several payment behaviours
        self.assertGreaterEqual(len(scenarios), 3)

    def test_deterministic(self):
        "The same seed plans the same invoices, another seed does not"
        def plans(seed):
            generator = Generator(DB_NAME, 3, seed=seed, today=TODAY,
                invoices_per_customer=3, bulk=False)
            generator.products = self.generator.products
            generator.customers = self.generator.customers
            generator.companies = self.generator.companies
            return [(p['customer']['id'], p['date'], p['scenario'],
                    p['lines'], p['events'])
                for p in generator.plan_invoices()]
        mine = [(p['customer']['id'], p['date'], p['scenario'],
                p['lines'], p['events']) for p in self.generator.plans]
        self.assertEqual(plans(7), mine)
        self.assertNotEqual(plans(8), mine)

    def test_customers_and_second_company(self):
        "Customers have an address, an e-mail; both companies invoice"
        pool = self.generator.pool
        Party = pool.get('party.party')
        Invoice = pool.get('account.invoice')
        with Transaction().start(DB_NAME, 0, readonly=True):
            for customer in self.generator.customers:
                party = Party(customer['id'])
                self.assertTrue(party.addresses)
                self.assertTrue(party.email)
            for company in self.generator.companies:
                self.assertTrue(Invoice.search([
                            ('company', '=', company['id']),
                            ('state', 'in', ['posted', 'paid']),
                            ]))
