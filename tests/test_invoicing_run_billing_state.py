"""Never a double bill, whatever the order of the billing actions.

A Hypothesis state machine (``RuleBasedStateMachine``) interleaves random
billing actions in one PostgreSQL database (in the PostgreSQL pass, skipped
elsewhere as the other reliability tests are), on sale lines: stock *Create
Invoice* of a sale, an invoicing run over all sales, handling a sale's
invoice exception (*Recreate*) and new sales; on a subscription's recurring
fee: a run over the fees up to a random date of this month and the last
three and the amendment of the subscription the stock way (back to draft,
another invoice recurrence, running again); on both: cancelling a draft
invoice of a run, posting and crediting an invoice and retrying the failed
items of the runs.  Each action is a transaction of its own, the way a
client sends it, started again with the row locks the claims ask for (as
Tryton's dispatcher does) and the queue tasks run after commit.

After every step, for every sale line: the quantity billed by the invoices
which are not cancelled is never more than the line's quantity, and a line
billed once and never cancelled is billed exactly its quantity; for the fee
line: the periods billed by the invoices which are not cancelled follow
each other without a gap or an overlap from the line's start to its
billed-through date (no day billed twice, none lost).  The machine runs a
bounded number of examples (``MAX_EXAMPLES`` x ``STEPS``) in the one
database.
"""
import os

from tests import support
from tests import test_invoicing_run_billing_paths as billing_paths
from tests import test_invoicing_run_reliability as reliability

MAX_EXAMPLES = int(os.environ.get('BILLING_STATE_EXAMPLES', 8))
STEPS = 12

MACHINE = r'''
import datetime as dt
import re
from decimal import Decimal
from dateutil.relativedelta import relativedelta
import hypothesis.strategies as st
from hypothesis import settings, HealthCheck
from hypothesis.stateful import (
    RuleBasedStateMachine, invariant, rule, run_state_machine_as_test)
from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task

# the queue tasks run after each step in this process (no worker)
_c.set('queue', 'worker', 'False')
pool = Pool(DATABASE)
pool.init()
company = int(ARGS[0])
examples, steps = int(ARGS[1]), int(ARGS[2])


def step(func, *args):
    "Run func in a transaction of its own as the dispatcher does"
    extras = {}
    while True:
        with Transaction().start(DATABASE, 1, **extras) as transaction:
            User = pool.get('res.user')
            context = User.get_preferences(context_only=True)
            try:
                # the user answers yes to the warnings (default taxes...)
                with transaction.set_context(context, company=company,
                        _skip_warnings=True):
                    result = func(*args)
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            except UserError as error:
                transaction.rollback()
                result = error
            transaction.commit()
        break
    while transaction.tasks:
        run_task(DATABASE, transaction.tasks.pop())
    return result


def billed():
    "Return {sale line: (quantity, billed, cancelled billed)}"
    SaleLine = pool.get('sale.line')
    result = {}
    for line in SaleLine.search([('sale.state', '!=', 'draft')]):
        live = sum(l.quantity for l in line.invoice_lines
            if l.invoice and l.invoice.type == 'out'
            and l.invoice.state != 'cancelled')
        cancelled = sum(l.quantity for l in line.invoice_lines
            if l.invoice and l.invoice.state == 'cancelled')
        result[line.id] = (line.quantity, live, cancelled)
    return result


def new_sale(quantity):
    Sale = pool.get('sale.sale')
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    party, = Party.search([('name', '=', 'C000')])
    product, = Product.search([], limit=1)
    sale, = Sale.create([{
                'party': party.id, 'company': company,
                'invoice_method': 'manual',
                'invoice_address': party.address_get(type='invoice'),
                'lines': [('create', [{
                                'type': 'line', 'product': product.id,
                                'quantity': quantity,
                                'unit': product.default_uom.id,
                                'unit_price': Decimal(10),
                                'description': 'Service',
                                }])],
                }])
    Sale.quote([sale])
    Sale.confirm([sale])
    Sale.process([sale])


def stock_invoice(index):
    Sale = pool.get('sale.sale')
    sales = Sale.search([('state', '=', 'processing')], order=[('id', 'ASC')])
    if sales:
        Sale.manual_invoice([sales[index % len(sales)]])


def run():
    Run = pool.get('customer.invoicing.run')
    Date = pool.get('ir.date')
    new = Run(company=company, cutoff_date=Date.today(),
        invoice_date=Date.today(), sources=['sale'])
    new.save()
    Run.run([new])


def draft_run_invoices():
    Invoice = pool.get('account.invoice')
    return Invoice.search([
            ('invoicing_run', '!=', None), ('state', '=', 'draft')],
        order=[('id', 'ASC')])


def cancel_run_invoice(index):
    Invoice = pool.get('account.invoice')
    invoices = draft_run_invoices()
    if invoices:
        Invoice.cancel([invoices[index % len(invoices)]])


def credit(index):
    Invoice = pool.get('account.invoice')
    invoices = Invoice.search([
            ('type', '=', 'out'), ('state', 'in', ['draft', 'posted']),
            ('total_amount', '>', 0)], order=[('id', 'ASC')])
    if invoices:
        invoice = invoices[index % len(invoices)]
        if invoice.state == 'draft':
            Invoice.post([invoice])
        Invoice.credit([invoice])


def fee_start():
    "The start of the subscription: the first day 3 months ago"
    Date = pool.get('ir.date')
    return Date.today().replace(day=1) - relativedelta(months=3)


def fee_run(months, day):
    Run = pool.get('customer.invoicing.run')
    Date = pool.get('ir.date')
    cutoff = (fee_start() + relativedelta(months=months)).replace(day=day)
    new = Run(company=company, cutoff_date=cutoff,
        invoice_date=max(cutoff, Date.today()), sources=['subscription_fee'])
    new.save()
    Run.run([new])


def amend(recurrence):
    "Amend the subscription the stock way to another invoice recurrence"
    Subscription = pool.get('sale.subscription')
    RuleSet = pool.get('sale.subscription.recurrence.rule.set')
    subscription, = Subscription.search([])
    rule_set, = RuleSet.search([('name', '=', recurrence)])
    Subscription.draft([subscription])
    Subscription.write([subscription], {'invoice_recurrence': rule_set.id})
    Subscription.quote([subscription])
    Subscription.run([subscription])


def fee_periods():
    """Return the start and billed-through date of the fee line and the
    periods billed by the invoices which are not cancelled"""
    Line = pool.get('sale.subscription.line')
    InvoiceLine = pool.get('account.invoice.line')
    line, = Line.search([])
    periods = []
    for invoice_line in InvoiceLine.search([
                ('origin', '=', str(line)),
                ('invoice.state', '!=', 'cancelled'),
                ]):
        start, end = re.search(r'\((\S+) - (\S+?)[,)]',
            invoice_line.description).groups()
        # the period is written in the customer's language
        date_format = (invoice_line.invoice.party.lang
            or pool.get('ir.lang').get()).date
        periods.append(tuple(dt.datetime.strptime(d, date_format).date()
                for d in (start, end)))
    return line.start_date, line.fee_billed_through, sorted(periods)


def retry():
    Run = pool.get('customer.invoicing.run')
    runs = Run.search([('state', 'in', ['running', 'done'])])
    Run.retry_failed([r for r in runs if r.items_failed])


def recreate(index):
    "Handle the invoice exception of a sale: recreate its invoices"
    Sale = pool.get('sale.sale')
    sales = Sale.search([('invoice_state', '=', 'exception')],
        order=[('id', 'ASC')])
    if sales:
        sale = sales[index % len(sales)]
        Invoice = pool.get('account.invoice')
        recreated = [i for i in sale.invoices if i.state == 'cancelled'
            and i not in sale.invoices_ignored]
        Sale.write([sale], {
                'invoices_recreated': [('add', [i.id for i in recreated])]})
        Sale.process([sale])


class Billing(RuleBasedStateMachine):
    "Random billing actions on sale lines, checked after each step"

    @rule(quantity=st.integers(1, 3))
    def sale(self, quantity):
        step(new_sale, quantity)

    @rule(index=st.integers(0, 20))
    def stock(self, index):
        step(stock_invoice, index)

    @rule()
    def invoicing_run(self):
        step(run)

    @rule(index=st.integers(0, 20))
    def cancel(self, index):
        step(cancel_run_invoice, index)

    @rule(index=st.integers(0, 20))
    def credit_note(self, index):
        step(credit, index)

    @rule()
    def retry_failed(self):
        step(retry)

    @rule(index=st.integers(0, 20))
    def recreate_invoices(self, index):
        step(recreate, index)

    @rule(months=st.integers(0, 3), day=st.sampled_from([1, 10, 20]))
    def fee_invoicing_run(self, months, day):
        step(fee_run, months, day)

    @rule(recurrence=st.sampled_from(["Monthly", "Monthly on the 15th"]))
    def amendment(self, recurrence):
        step(amend, recurrence)

    @invariant()
    def fee_periods_follow(self):
        start, through, periods = step(fee_periods)
        # no day billed twice nor lost: each period starts the day after
        # the previous one, from the start to the billed-through date
        expected = start
        for period_start, period_end in periods:
            assert period_start == expected, (start, through, periods)
            expected = period_end + dt.timedelta(days=1)
        assert through == (periods[-1][1] if periods else None), (
            start, through, periods)

    @invariant()
    def billed_once(self):
        for line, (quantity, live, cancelled) in step(billed).items():
            # never more than recorded
            assert live <= quantity, (line, quantity, live, cancelled)
            # billed once and never cancelled: billed exactly its quantity
            if live and not cancelled:
                assert live == quantity, (line, quantity, live)


run_state_machine_as_test(Billing, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        database=None, derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow, HealthCheck.filter_too_much]))
print('ok')
'''


# a subscription started on the first day 3 months ago with a recurring
# fee, and the recurrences it is amended to (added to the sales of the run
# reliability tests)
SUBSCRIPTION = r'''
from dateutil.relativedelta import relativedelta
RuleSet = Model.get('sale.subscription.recurrence.rule.set')
for name, day in [("Monthly", None), ("Monthly on the 15th", '15')]:
    rule_set = RuleSet(name=name)
    rule, = rule_set.rules
    rule.freq = 'monthly'
    rule.interval = 1
    rule.bymonthday = day
    rule_set.save()
monthly, _ = RuleSet.find([], order=[('id', 'ASC')])
Service = Model.get('sale.subscription.service')
service = Service(product=Model.get('product.product')(product.id))
service.save()
Subscription = Model.get('sale.subscription')
subscription = Subscription(
    party=Model.get('party.party')(parties[0].id),
    start_date=dt.date.today().replace(day=1) - relativedelta(months=3),
    invoice_recurrence=monthly)
line = subscription.lines.new()
line.service = service
line.quantity = 1
subscription.click('quote')
subscription.click('run')
print(company.id)
'''


class InvoicingRunBillingStateTestCase(
        reliability.InvoicingRunReliabilityTestCase):
    "Random billing actions never bill a sale line twice"

    # the site of the run reliability tests, not their two cases
    test_concurrent_runs = test_killed_worker = None
    modules = billing_paths.MODULES
    setup_code = reliability.SETUP + SUBSCRIPTION
    sales = 4

    def test_state_machine(self):
        """Interleaved stock invoicing, runs, amendments, cancellations,
        credit notes and retries"""
        result = support.run_python(self.site, self.database, MACHINE,
            str(self.company), str(MAX_EXAMPLES), str(STEPS), timeout=900)
        self.assertEqual(
            result.stdout.decode().strip().splitlines()[-1], 'ok')
