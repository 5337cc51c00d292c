"""Never a double bill between an invoicing run and Tryton's own invoicing
of projects and subscriptions.

On PostgreSQL with real ``trytond-worker`` processes (in the PostgreSQL
pass, skipped elsewhere as the other reliability tests are), each billing
action a transaction of its own in a child process, started again with the
row locks the claims ask for as Tryton's dispatcher does:

* project time and material: ``project_invoice``'s *Invoice* (*On
  Timesheet*) against a billing request released and billed by a run, in
  both orders and started together: the 12 hours recorded are billed once,
  the second path is refused with its translated message and the timesheet
  lines keep the invoice line of the path that billed them;
* subscriptions: stock *Create Subscription Invoices* against a run over the
  consumptions and the recurring fees, in both orders, between the run's
  collection and its batches, and started together; and the amendment of a
  subscription whose fee is billed for three months (back to draft, invoice
  recurrence "monthly on the 15th", running again): no day billed twice.
"""
import datetime as dt
import time
import unittest
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from tests import test_invoicing_run_reliability as reliability

MODULES = ['customer_invoicing_run', 'customer_project', 'sale_subscription']

BASE_SETUP = r'''
import datetime as dt
from decimal import Decimal
from dateutil.relativedelta import relativedelta
from proteus import config as pconfig, Model
pconfig.set_trytond(DATABASE, config_file=CONFIG_FILES)
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
create_company()
create_chart()
fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
fiscalyear.click('create_period')
accounts = get_accounts()
today = dt.date.today()
Category = Model.get('product.category')
category = Category(name="Services", accounting=True)
category.account_revenue = accounts['revenue']
category.save()
Uom = Model.get('product.uom')
Template = Model.get('product.template')
def product(name, uom, price):
    template = Template(name=name, type='service', list_price=Decimal(price),
        default_uom=Uom.find([('name', '=', uom)])[0],
        account_category=category)
    template.save()
    return template.products[0]
Party = Model.get('party.party')
Profile = Model.get('customer.billing.profile')
profile = Profile(code='M', name="Monthly", grouping='account',
    cycle='monthly', cycle_day=1, channel='print', bill_to='customer')
profile.save()
Account = Model.get('customer.account')
def customer(name):
    party = Party(name=name)
    party.addresses.new(street="Main Street 1")
    party.save()
    Account(code=name, party=party, profile=profile).save()
    return party
'''

PROJECT_SETUP = BASE_SETUP + r'''
consultant = product("Consultant", 'Hour', 100)
Employee = Model.get('company.employee')
alice = Employee(party=Party(name="Alice"))
alice.party.save()
alice.save()
Work = Model.get('project.work')
project = Work(name="Website", type='project')
project.party = customer("Customer")
project.start_date = today - dt.timedelta(days=30)
project.end_date = today + dt.timedelta(days=30)
project.project_currency = project.company.currency
build = project.children.new(name="Build", type='task')
build.start_date = project.start_date
build.end_date = project.end_date
build.time_and_material = True
build.timesheet_available = True
build.product = consultant
build.list_price = Decimal(100)
project.save()
build, = project.children
Line = Model.get('timesheet.line')
lines = []
for days in [10, 9, 8]:
    line = Line(employee=alice, date=today - dt.timedelta(days=days))
    line.work, = build.timesheet_works
    line.duration = dt.timedelta(hours=4)
    line.save()
    lines.append(line)
Line.click(lines, 'approve')
print(get_company().id)
'''

SUBSCRIPTIONS = 5

SUBSCRIPTION_SETUP = BASE_SETUP + r'''
RuleSet = Model.get('sale.subscription.recurrence.rule.set')
def rule_set(name, **values):
    rule_set = RuleSet(name=name)
    rule, = rule_set.rules
    rule.freq = 'monthly'
    rule.interval = 1
    for name, value in values.items():
        setattr(rule, name, value)
    rule_set.save()
    return rule_set
monthly = rule_set("Monthly")
rule_set("Monthly on the 15th", bymonthday='15')
Service = Model.get('sale.subscription.service')
hosting = Service(product=product("Hosting", 'Unit', 30))
hosting.save()
usage = Service(product=product("Usage", 'Unit', 1),
    consumption_recurrence=monthly)
usage.save()
Subscription = Model.get('sale.subscription')
start = today.replace(day=1) - relativedelta(months=3)
for i in range(int(ARGS[0])):
    subscription = Subscription(party=customer('S%s' % i), start_date=start,
        invoice_recurrence=monthly)
    line = subscription.lines.new()
    line.service = hosting
    line.quantity = 1
    line = subscription.lines.new()
    line.service = usage
    line.quantity = 2
    subscription.click('quote')
    subscription.click('run')
from proteus import Wizard
create = Wizard('sale.subscription.line.consumption.create')
create.form.date = today
create.execute('create_')
print(get_company().id)
'''

# A child running the billing actions of ARGS[3] (comma separated), each in
# a transaction of its own (the row locks of the claims start it again, as
# the dispatcher does), holding its locks ARGS[2] seconds, from the time
# ARGS[1]; prints each result, or the error (and stops) on a UserError
ACTIONS = r'''
import datetime as dt
import time
from dateutil.relativedelta import relativedelta
from trytond import backend
from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError
pool = Pool(DATABASE)
pool.init()
company, start_at, hold = int(ARGS[0]), float(ARGS[1]), float(ARGS[2])


def transact(func):
    extras = {}
    for attempt in range(50):
        try:
            with Transaction().start(DATABASE, 1, **extras) as transaction:
                User = pool.get('res.user')
                context = User.get_preferences(context_only=True)
                try:
                    with transaction.set_context(context, company=company):
                        result = func()
                        time.sleep(hold)
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
                except UserError as error:
                    return 'error %s %s' % (
                        type(error).__name__, error.message)
                transaction.commit()
            return result
        except backend.DatabaseOperationalError as exception:
            print('retry', type(exception).__name__)
            time.sleep(0.05 * (attempt + 1))


def the_project():
    Work = pool.get('project.work')
    project, = Work.search([('type', '=', 'project')])
    return project


def method(name):
    Work = pool.get('project.work')
    Work.write([the_project()], {'project_invoice_method': name})
    return name


def project_invoice():
    Work = pool.get('project.work')
    Work.invoice([the_project()])
    return 'invoiced'


def request():
    Request = pool.get('project.billing.request')
    Date = pool.get('ir.date')
    new = Request(project=the_project(), date=Date.today())
    new.save()
    Request.collect([new])
    return 'request %s' % len(Request(new.id).lines)


def release():
    Request = pool.get('project.billing.request')
    Request.release(Request.search([('state', '=', 'draft')]))
    return 'released'


def run(sources, cutoff=None):
    Run = pool.get('customer.invoicing.run')
    Date = pool.get('ir.date')
    cutoff = cutoff or Date.today()
    new = Run(company=company, cutoff_date=cutoff,
        invoice_date=max(cutoff, Date.today()), sources=sources)
    new.save()
    Run.run([new])
    return 'run %s' % new.id


def sale_invoice():
    "Stock Create Invoice of the sales being processed"
    Sale = pool.get('sale.sale')
    sales = Sale.search([('state', '=', 'processing')])
    Sale.manual_invoice(sales)
    return 'stock %s' % len(sales)


def subscription_invoice():
    Subscription = pool.get('sale.subscription')
    Date = pool.get('ir.date')
    Subscription.generate_invoice(date=Date.today())
    return 'invoiced'


def amend():
    "Amend the subscriptions the stock way: monthly on the 15th"
    Subscription = pool.get('sale.subscription')
    RuleSet = pool.get('sale.subscription.recurrence.rule.set')
    subscriptions = Subscription.search([('state', '=', 'running')])
    on_15th, = RuleSet.search([('name', '=', "Monthly on the 15th")])
    Subscription.draft(subscriptions)
    Subscription.write(subscriptions, {'invoice_recurrence': on_15th.id})
    Subscription.quote(subscriptions)
    Subscription.run(subscriptions)
    return 'amended'


def fee_run(months, day):
    "Run over the fees up to the day of the month months after the start"
    Date = pool.get('ir.date')
    start = Date.today().replace(day=1) - relativedelta(months=3)
    cutoff = (start + relativedelta(months=int(months))).replace(
        day=int(day))
    return run(['subscription_fee'], cutoff)


ACTIONS = {
    'manual': lambda: method('manual'),
    'timesheet': lambda: method('timesheet'),
    'project_invoice': project_invoice,
    'request': request,
    'release': release,
    'project_run': lambda: run(['project']),
    'sale_invoice': sale_invoice,
    'subscription_invoice': subscription_invoice,
    'subscription_run': lambda: run(['subscription', 'subscription_fee']),
    'amend': amend,
    }
time.sleep(max(0, start_at - time.time()))
for action in ARGS[3].split(','):
    name, *args = action.split(':')
    if name == 'fee_run':
        result = transact(lambda: fee_run(*args))
    else:
        result = transact(ACTIONS[name])
    print(action, result)
    if not result or result.startswith('error'):
        break
'''


class BillingPathsTestCase(reliability.InvoicingRunReliabilityTestCase):
    "A site with the project and subscription modules"

    # the site, workers and helpers of the run reliability tests, not their
    # cases
    test_concurrent_runs = test_killed_worker = None
    modules = MODULES

    def actions(self, *actions, start_at=0, hold=0):
        "Start a child running actions"
        return self.python(ACTIONS, self.company, start_at, hold,
            ','.join(actions))

    def communicate(self, process):
        output, _ = process.communicate(timeout=180)
        output = output.decode()
        self.assertNotIn('Traceback', output, output[-3000:])
        self.assertEqual(process.returncode, 0, output[-3000:])
        return output

    def results(self, *actions, **kwargs):
        "Run actions to the end and return {action: result}"
        output = self.communicate(self.actions(*actions, **kwargs))
        self.pairs = [tuple(l.split(' ', 1))
            for l in output.strip().splitlines()
            if not l.startswith('retry ')]
        return dict(self.pairs)

    def run_billed(self, *actions, **kwargs):
        "Run actions, the last a run, and wait until the worker billed it"
        results = self.results(*actions, **kwargs)
        self.assertRegex(results[actions[-1]], r'^run \d+$', results)
        self.wait_runs_finished()
        return results


class ProjectBillingPathsTestCase(BillingPathsTestCase):
    """project_invoice's On Timesheet and billing requests billed by a run
    bill the 12 hours of a project once"""

    setup_code = PROJECT_SETUP

    @classmethod
    def setup_args(cls):
        return []

    refused_by_request = (
        'error BillingRequestError The time "%s" is billed by billing '
        'request "')
    refused_by_invoice = 'is already billed by invoice'

    def assert_billed_once(self, path):
        """The 3 timesheet lines of 4 h are billed 12 h once, each linked
        to the invoice line of path: the one line of project_invoice
        (4 + 4 + 4 = 12 h, no origin) or the request line billing it"""
        rows = self.query(
            "SELECT tl.id, il.id, il.quantity, il.origin, rl.origin "
            "FROM timesheet_line tl "
            "LEFT JOIN account_invoice_line il ON tl.invoice_line = il.id "
            "LEFT JOIN project_billing_request_line rl "
            "ON il.origin = 'project.billing.request.line,' || rl.id "
            "ORDER BY tl.id")
        self.assertEqual(len(rows), 3)
        billed, = self.query(
            "SELECT SUM(il.quantity) FROM account_invoice_line il "
            "JOIN account_invoice i ON il.invoice = i.id "
            "WHERE i.state != 'cancelled'")[0]
        self.assertEqual(billed, 12)
        if path == 'stock':
            self.assertEqual({r[1:4] for r in rows},
                {(rows[0][1], 12, None)}, rows)
        else:
            self.assertEqual(
                [(r[2], r[4]) for r in rows],
                [(4, 'timesheet.line,%s' % r[0]) for r in rows], rows)

    def test_stock_then_request(self):
        """Stock Invoice (On Timesheet) bills 12 h first: a billing request
        collects none of them, with either method, and the run finds
        nothing to bill"""
        results = self.results('timesheet', 'project_invoice', 'request',
            'manual', 'request', 'project_run')
        self.assertEqual([r for a, r in self.pairs if a == 'request'],
            ['request 0', 'request 0'])
        self.assertRegex(results['project_run'],
            r'^error RunError The invoicing run .* finds no billable item')
        self.assert_billed_once('stock')

    def test_request_then_stock(self):
        """A billing request collected (3 lines of 4 h) and released first:
        stock Invoice is refused, the run bills the 12 h"""
        self.start_worker('worker-1')
        results = self.results('request', 'release', 'timesheet',
            'project_invoice')
        self.assertEqual(results['request'], 'request 3')
        self.assertIn(
            'a project is billed either by its invoice method or by '
            'billing requests', results['project_invoice'])
        self.run_billed('project_run')
        self.assertEqual(self.item_counts(), {'done': 3})
        self.assert_billed_once('run')

    def test_request_stock_then_release(self):
        """A billing request collected, the method changed and stock Invoice
        bills the 12 h before the release: the release is refused"""
        results = self.results('request', 'timesheet', 'project_invoice',
            'release')
        self.assertIn(self.refused_by_invoice, results['release'])
        self.assert_billed_once('stock')

    def test_concurrent(self):
        """The release of a collected request (then a run) and stock Invoice
        started together, each holding its locks 2 s: one path bills, the
        other is refused"""
        self.results('request', 'timesheet')
        self.start_worker('worker-1')
        start_at = time.time() + 3
        request = self.actions('release', 'project_run', start_at=start_at,
            hold=2)
        stock = self.actions('project_invoice', start_at=start_at, hold=2)
        stock_output = self.communicate(stock)
        request_output = self.communicate(request)
        if 'project_invoice invoiced' in stock_output:
            self.assertIn(self.refused_by_invoice, request_output)
            self.assert_billed_once('stock')
        else:
            self.assertIn('billed either by its invoice method',
                stock_output)
            self.assertRegex(request_output, r'project_run run \d+')
            self.wait_runs_finished()
            self.assert_billed_once('run')


class SubscriptionBillingPathsTestCase(BillingPathsTestCase):
    """Stock subscription invoicing and a run over the consumptions and the
    recurring fees bill each consumption and fee period once"""

    setup_code = SUBSCRIPTION_SETUP

    @classmethod
    def setup_args(cls):
        return [SUBSCRIPTIONS]

    def consumptions(self):
        return self.query(
            "SELECT COUNT(*), SUM(quantity) "
            "FROM sale_subscription_line_consumption")[0]

    def billed(self, product):
        "Return the quantity and amount billed for product"
        return self.query(
            "SELECT COALESCE(SUM(il.quantity), 0), "
            "COALESCE(SUM(il.quantity * il.unit_price), 0) "
            "FROM account_invoice_line il "
            "JOIN account_invoice i ON il.invoice = i.id "
            "JOIN product_product p ON il.product = p.id "
            "JOIN product_template t ON p.template = t.id "
            "WHERE i.state != 'cancelled' AND t.name = %s", (product,))[0]

    def assert_billed_once(self):
        """Each consumption is billed once: the usage billed equals the
        consumptions (2 units a month from the start 3 months ago up to
        today: 4 per subscription); each fee 4 periods of 30"""
        count, quantity = self.consumptions()
        self.assertEqual(count, SUBSCRIPTIONS * 4)
        self.assertEqual(quantity, SUBSCRIPTIONS * 4 * 2)
        self.assertEqual(self.billed('Usage')[0], quantity)
        unbilled = self.query(
            "SELECT c.id FROM sale_subscription_line_consumption c "
            "LEFT JOIN account_invoice_line il ON c.invoice_line = il.id "
            "LEFT JOIN account_invoice i ON il.invoice = i.id "
            "WHERE i.id IS NULL OR i.state = 'cancelled'")
        self.assertEqual(unbilled, [])
        self.assertEqual(self.billed('Hosting'),
            (SUBSCRIPTIONS * 4, SUBSCRIPTIONS * 4 * 30))

    def cancelled_errors(self):
        return [e for e, in self.query(
                "SELECT error FROM customer_invoicing_run_item "
                "WHERE state = 'cancelled'")]

    def test_stock_then_run(self):
        "Stock invoices the consumptions first: the run bills the fees"
        self.start_worker('worker-1')
        self.run_billed('subscription_invoice', 'subscription_run')
        self.assertEqual(self.item_counts(), {'done': SUBSCRIPTIONS * 4})
        self.assert_billed_once()

    def test_run_then_stock(self):
        "The run bills first: stock invoices nothing"
        self.start_worker('worker-1')
        self.run_billed('subscription_run')
        self.assertEqual(self.item_counts(), {'done': SUBSCRIPTIONS * 8})
        self.results('subscription_invoice')
        self.assert_billed_once()

    def test_run_collected_then_stock(self):
        """Stock invoices the consumptions between the run's collection and
        its batch: their items are cancelled naming the invoice, the fees
        of the same invoices are billed"""
        self.results('subscription_run', 'subscription_invoice')
        self.start_worker('worker-1')
        self.wait_runs_finished()
        self.assertEqual(self.item_counts(), {
                'done': SUBSCRIPTIONS * 4, 'cancelled': SUBSCRIPTIONS * 4})
        for error in self.cancelled_errors():
            self.assertRegex(error, r'^Cancelled: ".*" is billed by invoice')
        self.assert_billed_once()

    def test_concurrent(self):
        """Stock invoicing (holding its locks 2 s) and a run started
        together with a worker running"""
        self.start_worker('worker-1')
        start_at = time.time() + 3
        stock = self.actions('subscription_invoice', start_at=start_at,
            hold=2)
        run = self.actions('subscription_run', start_at=start_at + 0.5)
        self.communicate(stock)
        self.communicate(run)
        self.wait_runs_finished()
        counts = self.item_counts()
        # every fee period is billed by the run, each consumption by
        # whichever locked it first
        self.assertEqual(counts.get('done', 0) + counts.get('cancelled', 0),
            sum(counts.values()), counts)
        self.assertGreaterEqual(counts.get('done', 0), SUBSCRIPTIONS * 4)
        self.assert_billed_once()

    def test_amendment(self):
        """Fees billed for 3 months (monthly on the 1st), the subscriptions
        amended to monthly on the 15th, run again to the 20th of this
        month: no day billed twice"""
        self.start_worker('worker-1')
        # the 3 periods started by the first day 2 months after the start
        self.run_billed('fee_run:2:1')
        self.run_billed('amend', 'fee_run:3:20')
        start = dt.date.today().replace(day=1) - relativedelta(months=3)
        month = start + relativedelta(months=3)
        # then 1 to 14 of this month, prorated over the recurrence's period
        # from the 15th of last month, and the full month from the 15th
        dates = [start + relativedelta(months=m) for m in range(4)] + [
            month.replace(day=15)]
        rows = self.query(
            "SELECT source, date FROM customer_invoicing_run_item "
            "WHERE state = 'done' ORDER BY source, date")
        by_line = {}
        for source, date in rows:
            by_line.setdefault(source, []).append(date)
        self.assertEqual(len(by_line), SUBSCRIPTIONS)
        for line_dates in by_line.values():
            self.assertEqual(line_dates, dates)
        period_days = (month.replace(day=15)
            - (month - relativedelta(months=1)).replace(day=15)).days
        partial = (Decimal(30) * 14 / period_days).quantize(Decimal('.0001'))
        quantity, amount = self.billed('Hosting')
        self.assertEqual((quantity, amount), (SUBSCRIPTIONS * 5,
                SUBSCRIPTIONS * (4 * 30 + partial)))
        through = self.query(
            "SELECT DISTINCT fee_billed_through FROM sale_subscription_line "
            "WHERE fee_billed_through IS NOT NULL")
        self.assertEqual(through, [(
                    (month + relativedelta(months=1)).replace(day=14),)])


if __name__ == '__main__':
    unittest.main()
