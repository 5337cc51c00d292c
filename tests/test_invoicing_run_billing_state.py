"""Never a double bill, whatever the order of the billing actions.

A Hypothesis state machine (``RuleBasedStateMachine``) interleaves random
billing actions on sale lines in one PostgreSQL database (skipped as the
other reliability tests are): stock *Create Invoice* of a sale, an invoicing
run over all sales, cancelling a draft invoice of a run, posting and
crediting an invoice, retrying a run, handling a sale's invoice exception
(*Recreate*) and new sales.  Each action is a transaction of its own, the
way a client sends it, started again with the row locks the claims ask for
(as Tryton's dispatcher does) and the queue tasks run after commit.

After every step, for every sale line: the quantity billed by the invoices
which are not cancelled is never more than the line's quantity, and a line
billed once and never cancelled is billed exactly its quantity.  The
machine runs a bounded number of examples (``MAX_EXAMPLES`` x
``STEPS``) in the one database.
"""
import os

from tests import support
from tests.test_invoicing_run_double_bill import OptIn
from tests.test_invoicing_run_reliability import (
    InvoicingRunReliabilityTestCase)

MAX_EXAMPLES = int(os.environ.get('BILLING_STATE_EXAMPLES', 8))
STEPS = 12

MACHINE = r'''
import datetime as dt
from decimal import Decimal
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
                with transaction.set_context(context, company=company):
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


class InvoicingRunBillingStateTestCase(
        OptIn, InvoicingRunReliabilityTestCase):
    "Random billing actions never bill a sale line twice"

    # the site of the run reliability tests, not their two cases
    test_concurrent_runs = test_killed_worker = None
    sales = 4

    def test_state_machine(self):
        "Interleaved stock invoicing, runs, cancellations, credit notes"
        result = support.run_python(self.site, self.database, MACHINE,
            str(self.company), str(MAX_EXAMPLES), str(STEPS), timeout=900)
        self.assertEqual(
            result.stdout.decode().strip().splitlines()[-1], 'ok')
