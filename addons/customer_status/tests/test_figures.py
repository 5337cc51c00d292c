"""Hand-built ledger and the figures of the customer status derived by hand

Company A (currency USD, rate 1) sells with a 20% tax, company B (currency
EUR, rate 0.5, so 1 EUR = 2 USD) without tax.  The customer is C; D is
another customer whose lines must never leak into C's figures.

Ledger of C (receivable lines, amounts in company currency, + = debit):

  ref    company date        maturity    amount  settled by / on
  INV1   A       2024-03-01  2024-03-31   +1200  PAY1 2024-04-10
  PAY1   A       2024-04-10                -1200
  INV2   A       2025-02-01  2025-03-03   +2400  PAY2a (partial, linked to
  PAY2a  A       2025-03-10                -1400  the invoice) + PAY2b,
  PAY2b  A       2025-04-12                -1000  reconciled 2025-04-12
  INV3   A       2025-05-05  2025-06-04   +6000  PAY3 2025-06-01 (early)
  PAY3   A       2025-06-01                -6000
  INV4   A       2025-07-01  2025-07-31   +3600  PAY4 reconciled 2025-08-05,
  PAY4   A       2025-08-05                -3600  then the check is returned:
  REV4   A       2025-08-20                +3600  unreconciled, reversed by
                                                 REV4 (PAY4+REV4 reconciled);
                                                 INV4 open and protested on
                                                 2025-09-15 (cost 25)
  CN1    A       2025-09-01  2025-09-01    -600  credit note, reconciled with
  INV5   A       2025-09-01  2025-10-01   +1200  INV5 and the write-off WO
  WO     A       2025-10-15                -600  on 2025-10-15
  INV6   A       2025-11-15  2025-12-15    +480  open, partial PAY6 linked
  PAY6   A       2025-12-20                -120
  INV7   A       2025-12-20  2026-01-19    +120  PAY7 2026-01-05 (after the
  PAY7   A       2026-01-05                -120  period end)
  INVB1  B       2025-06-10  2025-07-10   +1000 EUR = +2000 USD, open
  plus a draft invoice of 9999 for C (ignored) and INVD 600 for D.
  Returned check: C, A, 2025-08-20, payment PAY4, 3600, fee 15.

Period 2025-01-01 .. 2025-12-31, companies A and B (figures in USD):

- balance = open-or-not lines up to 2025-12-31:
  A: 3600 (INV4) + 480 - 120 (INV6, PAY6) + 120 (INV7) = 4080 (all other
  lines sum to zero, PAY7 is after the end); B: 2000 => 6080
- overdue = lines open at the end with max(maturity, date) < 2025-12-31:
  INV4 3600 + INV6 480 + PAY6 -120 (no maturity, dated 12-20) + INVB1 2000
  = 5960 (INV7 matures in 2026); oldest overdue maturity = 2025-07-10
  (INVB1, before INV4's 2025-07-31); overdue ratio 5960/6080 = 98.0 %
- delays (debit lines with a maturity up to the end, open or settled in the
  period): INV2 settled 04-12 - 03-03 = 40 days (2400), INV3 settled 3 days
  early = 0 (6000), INV5 10-15 - 10-01 = 14 (1200), open: INV4 12-31 - 07-31
  = 153, INV6 12-31 - 12-15 = 16, INVB1 12-31 - 07-10 = 174; INV1 settled in
  2024 is out.  longest = 174; average over the lines settled in the period
  = (40*2400 + 0*6000 + 14*1200) / (2400+6000+1200) = 112800/9600 = 11.75
  -> 11.8
- largest purchase in the period: INV3 6000 on 2025-05-05 (INVB1 is only
  2000 USD, credit note excluded)
- highest balance (running, USD, by day): 2024-03-01 1200, 04-10 0,
  2025-02-01 2400, 03-10 1000, 04-12 0, 05-05 6000, 06-01 0, 06-10 2000,
  07-01 5600, 08-05 2000, 08-20 5600, 09-01 6200 (-600+1200), 10-15 5600,
  11-15 6080, 12-20 6080 => 6200 on 2025-09-01 (without converting B it
  would be 6000 on 05-05)
- first purchase INV1 2024-03-01, last purchase INV7 2025-12-20
- revenue (receivable total of the posted invoices and credit notes of the
  period): A 2400+6000+3600-600+1200+480+120 = 13200, B 2000 => 15200;
  previous period 2024-01-02 .. 2024-12-31: INV1 1200; trend
  (15200-1200)/1200 = 1166.7 %
- credit limits: A 10000 until 2026-06-30, secondary 15000; B 2000 EUR
  until 2025-11-30 (expired at the period end: counts as zero, flagged).
  credit limit 10000, due date 2025-11-30 (earliest), expired, available
  10000-6080 = 3920; secondary 15000, available 8920; usage 60.8 %
- returned checks 1, last 2025-08-20; protests 1, last 2025-09-15
- risk rules: protests >= 1 -> E (first rule), so computed class E; a
  credit manager override to C makes the class C.
- second currency EUR (USD rate 1 -> EUR 0.5): balance 3040, overdue 2980,
  credit limit 5000, highest balance 3100.
- ageing at 2025-12-31 by the days since maturity (the date of a line
  without one) of the lines open then, buckets not due / 1-30 / 31-60 /
  61-90 / over 90 (the default configuration): INV7 120 matures 2026-01-19
  (-19 days, reconciled only in 2026) -> not due 120; INV6 480 (16 days)
  and PAY6 -120 (dated 12-20, 11 days) -> 1-30: 360; INV4 3600 (153 days)
  and INVB1 2000 (174 days) -> over 90: 5600; 31-60 and 61-90: 0;
  120 + 360 + 5600 = 6080, the balance.  Second currency: 60, 180, 2800.
  With periods ending at 10, 20 and 200 days: INV6 and PAY6 -> 11-20: 360,
  INV4 and INVB1 -> 21-200: 5600, 1-10 and older: 0.

Company A alone: balance 4080, overdue 3600+480-120 = 3960, ratio 97.1 %,
oldest overdue 2025-07-31, longest 153, average 11.8, highest balance 6000
on 2025-05-05 (05-05 6000 > 09-01 4200), revenue 13200, limit 10000 not
expired (due 2026-06-30), usage 40.8 %; ageing: not due 120 (INV7), 1-30
360 (INV6, PAY6), over 90 3600 (INV4).

At 2025-08-10 for A: INV4 3600 and PAY4 -3600 are both open then (PAY4 is
reconciled with REV4 only on 08-20), so the balance is 0 and the overdue is
3600 (INV4 due 07-31) - 3600 (PAY4 dated 08-05) = 0.

Pending bills of C now: INV4 3600 (residual 3600), INV6 480 (residual 360
after PAY6 120), INVB1 1000 EUR; PAY6 is shown through INV6's residual and
INV7 is settled.
"""
import datetime as dt
import io
import unittest
import zipfile
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.exceptions import UserError, UserWarning
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction, check_access

from .tools import (
    D, add_currency_rate, create_chart, create_company, create_currency,
    create_fiscalyears, create_invoice, create_move, create_sale, create_tax,
    get_accounts, invoice_line, set_company)


def build_ledger():
    "Build the ledger of the module docstring and return its records"
    pool = Pool()
    Party = pool.get('party.party')
    MoveLine = pool.get('account.move.line')
    Invoice = pool.get('account.invoice')
    Reconciliation = pool.get('account.move.reconciliation')
    ReturnedCheck = pool.get('customer.returned_check')
    Protest = pool.get('customer.protest')
    RiskClass = pool.get('customer.status.risk.class')
    Rule = pool.get('customer.status.risk.rule')
    Override = pool.get('customer.status.risk.override')

    usd = create_currency('USD')
    add_currency_rate(usd, 1)
    eur = create_currency('EUR')
    add_currency_rate(eur, Decimal('0.5'))
    company_a = create_company('A', currency=usd)
    company_b = create_company('B', currency=eur)
    r = {'usd': usd, 'eur': eur, 'a': company_a, 'b': company_b}
    c, d = Party.create([{
                'name': 'C', 'addresses': [('create', [{}])]}, {
                'name': 'D', 'addresses': [('create', [{}])]}])
    r.update(c=c, d=d)
    classes = RiskClass.create([
            {'code': code, 'name': code, 'sequence': i}
            for i, code in enumerate('ABCDE')])
    r['classes'] = {k.code: k for k in classes}
    Rule.create([
            {'sequence': 1, 'criterion': 'protests', 'threshold': 1,
                'risk_class': r['classes']['E'].id},
            {'sequence': 2, 'criterion': 'overdue_ratio', 'threshold': 50,
                'risk_class': r['classes']['D'].id},
            {'sequence': 3, 'criterion': 'average_delay', 'threshold': 30,
                'risk_class': r['classes']['C'].id},
            ])

    with set_company(company_b):
        create_chart(company_b)
        create_fiscalyears(company_b, [2025])
        c = Party(c.id)  # records keep the context they were read with
        c.credit_limit_amount = Decimal(2000)
        c.credit_limit_date = D(2025, 11, 30)
        c.secondary_credit_limit_amount = Decimal(1000)
        c.save()
        r['invb1'] = create_invoice(
            company_b, c, D(2025, 6, 10), D(2025, 7, 10), 1000)

    with set_company(company_a):
        create_chart(company_a)
        create_fiscalyears(company_a, [2024, 2025, 2026])
        c = Party(c.id)
        c.credit_limit_amount = Decimal(10000)
        c.credit_limit_date = D(2026, 6, 30)
        c.secondary_credit_limit_amount = Decimal(15000)
        c.save()
        tax = create_tax(company_a, '0.2')
        a = company_a

        def inv(date, maturity, untaxed, party=c):
            return create_invoice(a, party, date, maturity, untaxed, [tax])

        def pay(date, amount, counterpart='cash'):
            return create_move(a, c, date, amount, counterpart)

        inv1 = inv(D(2024, 3, 1), D(2024, 3, 31), 1000)
        MoveLine.reconcile(
            [invoice_line(inv1), pay(D(2024, 4, 10), -1200)])
        inv2 = inv(D(2025, 2, 1), D(2025, 3, 3), 2000)
        pay2a = pay(D(2025, 3, 10), -1400)
        Invoice.add_payment_lines({inv2: [pay2a]})
        MoveLine.reconcile(
            [invoice_line(inv2), pay2a, pay(D(2025, 4, 12), -1000)])
        inv3 = inv(D(2025, 5, 5), D(2025, 6, 4), 5000)
        MoveLine.reconcile([invoice_line(inv3), pay(D(2025, 6, 1), -6000)])
        inv(D(2025, 6, 1), D(2025, 6, 1), 500, party=d)
        inv4 = inv(D(2025, 7, 1), D(2025, 7, 31), 3000)
        pay4 = pay(D(2025, 8, 5), -3600)
        MoveLine.reconcile([invoice_line(inv4), pay4])
        # the check is returned: unreconcile and reverse the payment
        Reconciliation.delete([pay4.reconciliation])
        MoveLine.reconcile([pay4, pay(D(2025, 8, 20), 3600)])
        ReturnedCheck.create([{
                    'company': a.id, 'party': c.id, 'date': D(2025, 8, 20),
                    'payment_line': pay4.id, 'reason': "Insufficient funds",
                    'amount': Decimal(3600), 'fee': Decimal(15)}])
        r['protest'], = Protest.create([{
                    'company': a.id, 'party': c.id,
                    'line': invoice_line(inv4).id, 'date': D(2025, 9, 15),
                    'reference': "Notary X", 'cost': Decimal(25)}])
        cn1 = inv(D(2025, 9, 1), D(2025, 9, 1), -500)
        inv5 = inv(D(2025, 9, 1), D(2025, 10, 1), 1000)
        MoveLine.reconcile([
                invoice_line(cn1), invoice_line(inv5),
                pay(D(2025, 10, 15), -600, 'expense')])
        inv6 = inv(D(2025, 11, 15), D(2025, 12, 15), 400)
        Invoice.add_payment_lines({inv6: [pay(D(2025, 12, 20), -120)]})
        inv7 = inv(D(2025, 12, 20), D(2026, 1, 19), 100)
        MoveLine.reconcile([invoice_line(inv7), pay(D(2026, 1, 5), -120)])
        # a draft invoice is ignored
        draft = Invoice(inv3.id)
        draft, = Invoice.copy([draft], {'invoice_date': D(2025, 10, 1)})
        Override.create([{
                    'company': a.id, 'party': c.id,
                    'risk_class': r['classes']['C'].id,
                    'reason': "Guaranteed by the parent company"}])
        r.update(inv1=inv1, inv3=inv3, inv4=inv4, inv6=inv6, inv7=inv7)
    return r


class CustomerStatusFiguresTestCase(unittest.TestCase):
    "Test the figures of the customer status on the hand-built ledger"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('customer_status')
        # like ModuleTestCase: close the connections of the database so that
        # the scenarios can restore it from the template
        cls.addClassCleanup(drop_db)

    def assertFigures(self, values, expected):
        for name, value in expected.items():
            with self.subTest(figure=name):
                self.assertEqual(values[name], value)

    @with_transaction()
    def test_figures(self):
        "Every figure of the status, the snapshot and the drill-downs"
        pool = Pool()
        Status = pool.get('customer.status')
        Snapshot = pool.get('customer.status.snapshot')
        History = pool.get('customer.status.risk.history')
        Pending = pool.get('customer.status.pending_line')
        r = build_ledger()
        a, b, c = r['a'], r['b'], r['c']
        period = D(2025, 1, 1), D(2025, 12, 31)

        with set_company(a):
            values = Status.get_status(c, [a, b], *period, r['eur'])
        self.assertFigures(values, {
                'currency': r['usd'].id,
                'balance': Decimal('6080.00'),
                'overdue': Decimal('5960.00'),
                'oldest_overdue_date': D(2025, 7, 10),
                'overdue_ratio': Decimal('98.0'),
                'longest_delay': 174,
                'average_delay': Decimal('11.8'),
                'largest_purchase': Decimal('6000.00'),
                'largest_purchase_date': D(2025, 5, 5),
                'largest_purchase_invoice': r['inv3'].id,
                'highest_balance': Decimal('6200.00'),
                'highest_balance_date': D(2025, 9, 1),
                'first_purchase_date': D(2024, 3, 1),
                'first_purchase_invoice': r['inv1'].id,
                'last_purchase_date': D(2025, 12, 20),
                'last_purchase_invoice': r['inv7'].id,
                'revenue': Decimal('15200.00'),
                'previous_revenue': Decimal('1200.00'),
                'trend': Decimal('1166.7'),
                'credit_limit': Decimal('10000.00'),
                'credit_limit_date': D(2025, 11, 30),
                'credit_limit_expired': True,
                'credit_limit_available': Decimal('3920.00'),
                'secondary_credit_limit': Decimal('15000.00'),
                'secondary_credit_limit_available': Decimal('8920.00'),
                'limit_usage': Decimal('60.8'),
                'returned_checks': 1,
                'last_returned_check_date': D(2025, 8, 20),
                'protests': 1,
                'last_protest_date': D(2025, 9, 15),
                'computed_risk_class': r['classes']['E'].id,
                'risk_class': r['classes']['C'].id,
                'risk_overridden': True,
                'second_currency': r['eur'].id,
                'second_balance': Decimal('3040.00'),
                'second_overdue': Decimal('2980.00'),
                'second_credit_limit': Decimal('5000.00'),
                'second_highest_balance': Decimal('3100.00'),
                'ageing_not_due': Decimal('120.00'),
                'ageing_1': Decimal('360.00'),
                'ageing_2': Decimal('0.00'),
                'ageing_3': Decimal('0.00'),
                'ageing_older': Decimal('5600.00'),
                'second_ageing_not_due': Decimal('60.00'),
                'second_ageing_1': Decimal('180.00'),
                'second_ageing_older': Decimal('2800.00'),
                })

        expected_a = {
            'balance': Decimal('4080.00'),
            'overdue': Decimal('3960.00'),
            'overdue_ratio': Decimal('97.1'),
            'oldest_overdue_date': D(2025, 7, 31),
            'longest_delay': 153,
            'average_delay': Decimal('11.8'),
            'highest_balance': Decimal('6000.00'),
            'highest_balance_date': D(2025, 5, 5),
            'revenue': Decimal('13200.00'),
            'credit_limit': Decimal('10000.00'),
            'credit_limit_date': D(2026, 6, 30),
            'credit_limit_expired': False,
            'limit_usage': Decimal('40.8'),
            'ageing_not_due': Decimal('120.00'),
            'ageing_1': Decimal('360.00'),
            'ageing_2': Decimal('0.00'),
            'ageing_3': Decimal('0.00'),
            'ageing_older': Decimal('3600.00'),
            }
        with set_company(a):
            values = Status.get_status(c, [a], *period)
            self.assertFigures(values, expected_a)
            self.assertNotIn('second_balance', values)

            values = Status.get_status(
                c, [a], D(2025, 1, 1), D(2025, 8, 10))
            self.assertFigures(values, {
                    'balance': Decimal('0.00'),
                    'overdue': Decimal('0.00'),
                    })

            # Period ending 2025-06-02: INV3 (maturity 2025-06-04) settled
            # early by PAY3 on 2025-06-01 is settled in the period, so it
            # counts in the average delay with 0 days though it matures
            # after the end; the longest delay only takes the lines matured
            # by the end: INV2, settled 2025-04-12, due 2025-03-03 = 40.
            # average = (40 * 2400 + 0 * 6000) / (2400 + 6000) = 11.43
            values = Status.get_status(
                c, [a], D(2025, 1, 1), D(2025, 6, 2))
            self.assertFigures(values, {
                    'longest_delay': 40,
                    'average_delay': Decimal('11.4'),
                    })

            # the snapshot of the period ending 2025-12-31 has the same
            # figures, computed for every customer of A in one batch
            Snapshot.refresh(companies=[a], date=period[1])
            snapshot, = Snapshot.search([
                    ('company', '=', a.id), ('party', '=', c.id)])
            for name, value in expected_a.items():
                with self.subTest(snapshot=name):
                    self.assertEqual(getattr(snapshot, name), value)
            self.assertEqual(snapshot.from_date, period[0])
            self.assertEqual(snapshot.risk_class, r['classes']['C'])
            snapshot_d, = Snapshot.search([('party', '=', r['d'].id)])
            self.assertEqual(snapshot_d.balance, Decimal('600.00'))
            self.assertEqual(snapshot_d.risk_class, r['classes']['D'])
            self.assertEqual(
                [(h.kind, h.risk_class.code) for h in History.search(
                        [('party', '=', c.id)], order=[('id', 'ASC')])],
                [('override', 'C'), ('computed', 'C')])

            # a refresh keeps one snapshot per customer and company
            Snapshot.refresh([c], companies=[a], date=period[1])
            self.assertEqual(Snapshot.search_count([]), 2)

        with set_company(b):
            with Transaction().set_context(companies=[a.id, b.id]):
                pending = Pending.search(
                    [('party', '=', c.id)],
                    order=[('company', 'ASC'), ('maturity_date', 'ASC')])
        self.assertEqual(
            [(p.amount, p.residual) for p in pending], [
                (Decimal('3600.00'), Decimal('3600.00')),
                (Decimal('480.00'), Decimal('360.00')),
                (Decimal('1000.00'), Decimal('1000.00')),
                ])

    @with_transaction()
    def test_ageing(self):
        """The ageing periods of the configuration (see the module
        docstring), in the figures and the printed status; overlapping
        periods are refused"""
        pool = Pool()
        Status = pool.get('customer.status')
        Configuration = pool.get('account.configuration')
        StatusReport = pool.get('customer_status.report', type='report')
        ActionReport = pool.get('ir.action.report')
        r = build_ledger()
        a, b, c = r['a'], r['b'], r['c']
        period = D(2025, 1, 1), D(2025, 12, 31)
        configuration = Configuration(1)
        configuration.ageing_days_1 = 10
        configuration.ageing_days_2 = 20
        configuration.ageing_days_3 = 200
        configuration.save()
        with set_company(a):
            values = Status.get_status(c, [a, b], *period)
            self.assertFigures(values, {
                    'ageing_not_due': Decimal('120.00'),
                    'ageing_1': Decimal('0.00'),
                    'ageing_2': Decimal('360.00'),
                    'ageing_3': Decimal('5600.00'),
                    'ageing_older': Decimal('0.00'),
                    })
            data = {
                'companies': [a.id, b.id], 'from_date': period[0],
                'to_date': period[1]}
            with Transaction().set_context(active_model='party.party'):
                context = StatusReport.get_context([c], {}, data)
            self.assertEqual(context['ageing_labels'], [
                    'Not due', 'Due 1 to 10 days', 'Due 11 to 20 days',
                    'Due 21 to 200 days', 'Due over 200 days'])
            # the print of the party form and of the status tab
            report, _ = ActionReport.search(
                [('report_name', '=', 'customer_status.report')])
            content = StatusReport.render(report, context)
        if content[:2] == b'PK':  # an OpenDocument package
            with zipfile.ZipFile(io.BytesIO(content)) as package:
                content = package.read('content.xml')
        content = content.decode()
        self.assertIn('Due 11 to 20 days: USD360.00', content)
        self.assertIn('Due 21 to 200 days: USD5,600.00', content)

        for days in [(30, 30, 90), (60, 30, 90), (0, 60, 90)]:
            with self.subTest(days=days):
                configuration = Configuration(1)
                (configuration.ageing_days_1, configuration.ageing_days_2,
                    configuration.ageing_days_3) = days
                with self.assertRaisesRegex(UserError, 'ageing periods'):
                    configuration.save()

    @with_transaction()
    def test_status_tab(self):
        """The rows of the status tab have the figures of get_status, for
        the customer of the context or every customer of the companies"""
        pool = Pool()
        Status = pool.get('customer.status')
        r = build_ledger()
        a, b, c, d = r['a'], r['b'], r['c'], r['d']
        period = D(2025, 1, 1), D(2025, 12, 31)
        context = {
            'context_model': 'customer.status.context',
            'from_date': period[0], 'to_date': period[1],
            'companies': [a.id, b.id], 'second_currency': r['eur'].id,
            }
        with set_company(a):
            expected = {p.id: Status.get_status(p, [a, b], *period, r['eur'])
                for p in [c, d]}
            names = sorted(expected[c.id])
            # C and D are the only parties with receivable lines in A or B
            with Transaction().set_context(context, party=None):
                rows = Status.read(
                    [s.id for s in Status.search([])], names)
            self.assertEqual(
                sorted(row['id'] for row in rows), sorted([c.id, d.id]))
            for row in rows:
                for name in names:
                    with self.subTest(party=row['id'], figure=name):
                        value = row[name]
                        if isinstance(value, tuple):  # companies
                            value = list(value)
                        self.assertEqual(
                            value, expected[row['id']].get(name))
            # the figures of test_figures: balance 6080, 3040 in EUR
            with Transaction().set_context(context, party=c.id):
                status, = Status.search([])
                self.assertEqual(status.party, c)
                self.assertEqual(status.balance, Decimal('6080.00'))
                self.assertEqual(status.second_balance, Decimal('3040.00'))
                self.assertEqual(status.rec_name, c.rec_name)

            # the drill-downs of the tab, as the client evaluates their
            # domains: the pending bills of C (INV4, INV6, INVB1 as in
            # test_figures) and the posted invoices of the period (INV2 ..
            # INV7, CN1 and INVB1, not INV1 of 2024 nor the draft)
            with Transaction().set_context(context, party=c.id):
                pending = self._drill_down('act_status_pending', [c.id])
                invoices = self._drill_down('act_status_invoices', [c.id])
            self.assertEqual(len(pending), 3)
            self.assertEqual(
                {i.id for i in invoices} >= {
                    r['inv3'].id, r['inv7'].id, r['invb1'].id}, True)
            self.assertNotIn(r['inv1'], invoices)
            self.assertTrue(all(i.state != 'draft' for i in invoices))

    def _drill_down(self, xml_id, ids):
        "Return the records of the relate action xml_id of the status ids"
        pool = Pool()
        ActWindow = pool.get('ir.action.act_window')
        ModelData = pool.get('ir.model.data')
        action, = ActWindow.browse([
                ModelData.get_id('customer_status', xml_id)])
        context = dict(Transaction().context)
        context.update(active_model='customer.status', active_ids=ids,
            active_id=ids[0])
        domain = PYSONDecoder(context).decode(action.pyson_domain)
        Model = pool.get(action.res_model)
        return Model.search(domain)

    @with_transaction()
    def test_snapshot_queue(self):
        """A new credit limit, a risk override and a new risk rule refresh
        the snapshots through the queue"""
        pool = Pool()
        Queue = pool.get('ir.queue')
        Snapshot = pool.get('customer.status.snapshot')
        Limit = pool.get('party.party.credit_limit_amount')
        Override = pool.get('customer.status.risk.override')
        Rule = pool.get('customer.status.risk.rule')
        r = build_ledger()
        a, c = r['a'], r['c']
        transaction = Transaction()

        def run_queue():
            "Run the tasks of the transaction as a worker would"
            tasks, transaction.tasks[:] = list(transaction.tasks), []
            # only the refreshes (posting also enqueues invoice printing)
            tasks = [t for t in Queue.browse(tasks)
                if t.data['method'] == 'customer_status_refresh']
            for task in tasks:
                task.run()
            return [t.data['method'] for t in tasks]

        with set_company(a):
            run_queue()  # the posting of the ledger's moves, its limits
            # The queue refreshes the rolling year ending today (after
            # 2026-06-30): at A the balance is 4080 - 120 (PAY7 of
            # 2026-01-05) = 3960 and the limit of 10000 has expired (due
            # 2026-06-30) so it counts as zero and has no usage
            snapshot, = Snapshot.search([
                    ('company', '=', a.id), ('party', '=', c.id)])
            self.assertEqual(snapshot.balance, Decimal('3960.00'))
            self.assertEqual(snapshot.credit_limit, Decimal('0.00'))
            self.assertIsNone(snapshot.limit_usage)

            # a limit of 7920 without due date => 3960 / 7920 = 50 %
            limit, = Limit.search([
                    ('party', '=', c.id), ('company', '=', a.id)])
            Limit.write([limit], {
                    'credit_limit_amount': Decimal('7920'),
                    'credit_limit_date': None,
                    })
            self.assertEqual(run_queue(), ['customer_status_refresh'])
            snapshot, = Snapshot.search([
                    ('company', '=', a.id), ('party', '=', c.id)])
            self.assertEqual(snapshot.credit_limit, Decimal('7920.00'))
            self.assertEqual(snapshot.limit_usage, Decimal('50.0'))

            # an override to class D of the customer
            Override.create([{
                        'company': a.id, 'party': c.id,
                        'risk_class': r['classes']['D'].id,
                        'reason': "Payment plan agreed"}])
            # the new override and the deactivation of the previous one
            self.assertEqual(set(run_queue()), {'customer_status_refresh'})
            snapshot, = Snapshot.search([
                    ('company', '=', a.id), ('party', '=', c.id)])
            self.assertEqual(snapshot.risk_class, r['classes']['D'])

            # a rule before the others: usage >= 45 % is class C; C is
            # overridden, the computed class of C changes from E to C
            Override.write(Override.search([]), {'active': False})
            run_queue()
            Rule.create([{
                        'sequence': 0, 'risk_class': r['classes']['C'].id,
                        'criterion': 'limit_usage', 'operator': '>=',
                        'threshold': Decimal(45)}])
            self.assertIn('customer_status_refresh', run_queue())
            snapshot, = Snapshot.search([
                    ('company', '=', a.id), ('party', '=', c.id)])
            self.assertEqual(snapshot.computed_risk_class, r['classes']['C'])
            self.assertEqual(snapshot.risk_class, r['classes']['C'])

    @with_transaction()
    def test_exposure(self):
        """The exposure is the credit amount of the limit checks: a warning
        at quotation, a block at confirmation, a credit manager's override

        Company A (USD), customer C with a limit of 1000, today T:
          INV   posted invoice of 300 (receivable)         balance    300
          PAYD  draft payment move of -50                  moves     -50
          S1    confirmed sale, 4 x 50 = 200
          INVS  posted invoice of 1 x 50 from S1's line    balance +   50
          INVD  draft invoice of 1 x 50 from S1's line     (in S1's 3 x 50)
          DRAFT draft invoice of 100 (no sale)
        sales not invoiced = (4 - 1 posted) x 50 = 150 (INVD is not posted,
        so S1 still counts its quantity; its line is not counted again),
        invoices not posted = 100, exposure = 350 - 50 + 150 + 100 = 550,
        available = 1000 - 550 = 450.
        S2, a quotation of 500: 550 + 500 = 1050 > 1000, a warning at
        quotation, stock's block at confirmation for a salesman; a credit
        manager confirms with a reason, which records the override; exposure
        then 550 + 500 = 1050, available -50."""
        pool = Pool()
        Status = pool.get('customer.status')
        Party = pool.get('party.party')
        Invoice = pool.get('account.invoice')
        Sale = pool.get('sale.sale')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Warning = pool.get('res.user.warning')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        company = create_company('A', currency=usd)
        with set_company(company):
            today = pool.get('ir.date').today()
            create_chart(company)
            create_fiscalyears(company, [today.year])
            c, = Party.create([{
                        'name': 'C', 'addresses': [('create', [{}])]}])
            c.credit_limit_amount = Decimal(1000)
            c.save()
            create_invoice(company, c, today, today, 300)
            create_move(company, c, today, -50, post=False)
            s1 = create_sale(company, c, 4, 50)
            Sale.quote([s1])
            Sale.confirm([s1])
            origin = str(s1.lines[0])
            create_invoice(company, c, today, today, 50, origin=origin)
            create_invoice(
                company, c, today, today, 50, origin=origin, post=False)
            create_invoice(company, c, today, today, 100, post=False)

            values = Status.get_status(c, [company], today, today)
            self.assertFigures(values, {
                    'balance': Decimal('350.00'),
                    'exposure_moves': Decimal('-50.00'),
                    'exposure_sales': Decimal('150.00'),
                    'exposure_invoices': Decimal('100.00'),
                    'exposure': Decimal('550.00'),
                    'exposure_available': Decimal('450.00'),
                    })
            # stock's credit amount is the exposure
            self.assertEqual(Party(c.id).credit_amount, Decimal('550.00'))

            salesman, manager = User.create([{
                        'login': 'salesman', 'name': 'Salesman',
                        'groups': [('add', [ModelData.get_id(
                                        'sale', 'group_sale')])],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        }, {
                        'login': 'manager', 'name': 'Manager',
                        'groups': [('add', [
                                    ModelData.get_id('sale', 'group_sale'),
                                    ModelData.get_id(
                                        'customer_status',
                                        'group_credit_manager')])],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        }])
            s2 = create_sale(company, c, 1, 500)
            # 550 + 500 = 1050 > 1000: a warning with a message id (the
            # test language formats USD without separator)
            with Transaction().set_user(salesman.id):
                with self.assertRaisesRegex(UserWarning,
                        'exposure of "C" to USD1050.00, over their '
                        'USD1000.00'):
                    Sale.quote([s2])
                Warning.create([{
                            'user': salesman.id, 'always': False,
                            'name': Warning.format(
                                'customer_status_credit_quote', [s2])}])
                Sale.quote([s2])
                # the block at confirmation (stock's check on the exposure)
                with self.assertRaisesRegex(UserError, 'credit limit'):
                    Sale.confirm([s2])
                # and the reason is the credit managers' to write
                with check_access(), self.assertRaises(AccessError):
                    Sale.write([Sale(s2.id)], {
                            'credit_override_reason': "Good customer"})
            self.assertEqual(Sale(s2.id).state, 'quotation')
            with Transaction().set_user(manager.id):
                with self.assertRaisesRegex(UserError, 'reason'):
                    Sale.confirm([Sale(s2.id)])
                with check_access():
                    Sale.write([Sale(s2.id)], {
                            'credit_override_reason': "Guarantee received"})
                    with self.assertRaises(AccessError):
                        Sale.write([Sale(s2.id)], {
                                'credit_override_by': salesman.id})
                Sale.confirm([Sale(s2.id)])
            s2 = Sale(s2.id)
            self.assertEqual(s2.state, 'confirmed')
            self.assertEqual(s2.credit_override_by, manager)
            self.assertIsNotNone(s2.credit_override_date)
            values = Status.get_status(c, [company], today, today)
            self.assertFigures(values, {
                    'exposure_sales': Decimal('650.00'),
                    'exposure': Decimal('1050.00'),
                    'exposure_available': Decimal('-50.00'),
                    })

    @with_transaction()
    def test_overdue_applied(self):
        """A credit note applied to an overdue invoice reduces the overdue
        from its date whatever its maturity; overdue never exceeds the
        balance; the report shows the second-currency amounts and leaves an
        absent limit empty

        Company A (USD), customer C without credit limit:
          INV1  2025-01-01 due 2025-01-31   +1000
          INV2  2025-03-01 due 2025-04-30   +500 (not due at 03-31)
          CN    2025-02-15 due 2025-05-15   -400 credit note, added to INV1's
                                                 payment lines
          PAY   2025-03-10                  -100 payment added to INV1
        at 2025-02-10: balance 1000, overdue 1000 (CN not yet there)
        at 2025-02-20: balance 600, overdue 1000 - 400 = 600 (before, the CN
          due 05-15 was left out: 1000, more than owed)
        at 2025-03-31: balance 1000 + 500 - 400 - 100 = 1000, overdue
          1000 - 400 - 100 = 500 (INV2 not due; before: 900)
        Second currency EUR at 0.5: balance 500, overdue 250."""
        pool = Pool()
        Status = pool.get('customer.status')
        Party = pool.get('party.party')
        Invoice = pool.get('account.invoice')
        Report = pool.get('customer_status.report', type='report')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        eur = create_currency('EUR')
        add_currency_rate(eur, Decimal('0.5'))
        company = create_company('A', currency=usd)
        with set_company(company):
            create_chart(company)
            create_fiscalyears(company, [2025])
            c, = Party.create([{
                        'name': 'C', 'addresses': [('create', [{}])]}])
            inv1 = create_invoice(
                company, c, D(2025, 1, 1), D(2025, 1, 31), 1000)
            # in date order (the invoice sequence)
            cn = create_invoice(
                company, c, D(2025, 2, 15), D(2025, 5, 15), -400)
            create_invoice(company, c, D(2025, 3, 1), D(2025, 4, 30), 500)
            pay = create_move(company, c, D(2025, 3, 10), -100)
            Invoice.add_payment_lines({inv1: [invoice_line(cn), pay]})
            for date, balance, overdue in [
                    (D(2025, 2, 10), 1000, 1000),
                    (D(2025, 2, 20), 600, 600),
                    (D(2025, 3, 31), 1000, 500),
                    ]:
                with self.subTest(date=date):
                    values = Status.get_status(
                        c, [company], D(2025, 1, 1), date)
                    self.assertEqual(values['balance'], Decimal(balance))
                    self.assertEqual(values['overdue'], Decimal(overdue))

            data = {
                'companies': [company.id], 'from_date': D(2025, 1, 1),
                'to_date': D(2025, 3, 31), 'second_currency': eur.id}
            with Transaction().set_context(active_model='party.party'):
                context = Report.get_context([c], {}, data)
            amounts = context['amounts']
            self.assertEqual(
                amounts(c.id, 'balance', None), 'USD1,000.00 / EUR500.00')
            self.assertEqual(
                amounts(c.id, 'overdue', None), 'USD500.00 / EUR250.00')
            # no limit: empty, not USD0.00
            self.assertEqual(amounts(c.id, 'credit_limit', None), '')
            self.assertEqual(amounts(c.id, 'exposure_available', None), '')

    @with_transaction()
    def test_bad_input(self):
        "Bad input raises a clear error"
        pool = Pool()
        Status = pool.get('customer.status')
        Configuration = pool.get('account.configuration')
        Party = pool.get('party.party')
        Currency = pool.get('currency.currency')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        company = create_company('A', currency=usd)
        other = create_company('Other', currency=usd)
        gbp, = Currency.create([{'name': 'GBP', 'code': 'GBP',
                    'symbol': 'GBP'}])
        with set_company(company):
            create_chart(company)
            party, = Party.create([{'name': 'C'}])
            with self.assertRaisesRegex(UserError, 'before it starts'):
                Status.get_status(
                    party, [company], D(2025, 2, 1), D(2025, 1, 1))
            with self.assertRaisesRegex(UserError, 'exchange rate'):
                Status.get_status(
                    party, [company], D(2025, 1, 1), D(2025, 2, 1), gbp)
            with self.assertRaises(AccessError):
                Status.get_status(
                    party, [company, other], D(2025, 1, 1), D(2025, 2, 1))
            config = Configuration(1)
            config.default_account_receivable = None
            config.save()
            with self.assertRaisesRegex(UserError, 'receivable account'):
                Status.get_status(
                    Party(party.id), [company], D(2025, 1, 1),
                    D(2025, 2, 1))


del dt, get_accounts
