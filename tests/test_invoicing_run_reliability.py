"""Never a double bill: invoicing runs against real trytond-worker processes.

Both tests use PostgreSQL (they are skipped with the reason when it does not
answer at ``TRYTOND_DATABASE_URI`` or ``postgresql://127.0.0.1:5432/``) and
the real executables of ``.venv/bin``:

* two processes start runs over the same selection at the same moment while
  two workers process them, each run processed by two concurrent chains of
  batches: afterwards every sale line has exactly one invoice line;
* a worker is killed (SIGKILL of its process group) while it bills the
  batches of a run and started again; the run is resumed as the cron does:
  afterwards every sale line has exactly one invoice line and no item is
  left pending.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from tests import support

# the module set of the billing-path tests and the invoicing-run scenarios,
# so that one activation serves them all (the run bills no project or
# subscription here)
MODULES = ['customer_invoicing_run', 'customer_project', 'sale_subscription']
SALES = 240

SETUP = r'''
import datetime as dt
from decimal import Decimal
from proteus import config as pconfig, Model
pconfig.set_trytond(DATABASE, config_file=CONFIG_FILES)
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, create_tax, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
create_company()
create_chart()
fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
fiscalyear.click('create_period')
accounts = get_accounts()
tax = create_tax(Decimal('.10'))
tax.save()
Category = Model.get('product.category')
category = Category(name="Services", accounting=True)
category.account_revenue = accounts['revenue']
category.customer_taxes.append(tax)
category.save()
Uom = Model.get('product.uom')
unit, = Uom.find([('name', '=', 'Unit')])
Template = Model.get('product.template')
template = Template(name="Service", default_uom=unit, type='service',
    salable=True, list_price=Decimal('10'), account_category=category)
template.save()
product, = template.products
Profile = Model.get('customer.billing.profile')
profile = Profile(code='M', name="Monthly", grouping='account',
    cycle='monthly', cycle_day=1, channel='print', bill_to='customer')
profile.save()
company = get_company()

from trytond.pool import Pool
from trytond.transaction import Transaction
pool = Pool(DATABASE)
with Transaction().start(DATABASE, 1) as transaction:
    User = pool.get('res.user')
    context = User.get_preferences(context_only=True)
    with transaction.set_context(context, company=company.id):
        Party = pool.get('party.party')
        Account = pool.get('customer.account')
        Sale = pool.get('sale.sale')
        parties = Party.create([{'name': 'C%03d' % i,
                    'addresses': [('create', [{}])]} for i in range(40)])
        Account.create([{'code': p.name, 'party': p.id,
                    'profile': profile.id, 'company': company.id}
                for p in parties])
        sales = []
        for i in range(int(ARGS[0])):
            party = parties[i % len(parties)]
            sales.append({
                    'party': party.id,
                    'company': company.id,
                    'invoice_method': 'manual',
                    'invoice_address': party.address_get(type='invoice'),
                    'lines': [('create', [{
                                    'type': 'line',
                                    'product': product.id,
                                    'quantity': 1 + i % 3,
                                    'unit': unit.id,
                                    'unit_price': Decimal('10'),
                                    'description': 'Service',
                                    'taxes': [('add', [tax.id])],
                                    }])],
                    })
        sales = Sale.create(sales)
        Sale.quote(sales)
        Sale.confirm(sales)
        Sale.process(sales)
    transaction.commit()
print(company.id)
'''

# defined in every python() process: start at a time (a number), or when
# the test opens the barrier (a path: say ready with a file beside it, then
# wait for the barrier's file), so processes start together once loaded
WAIT_FOR_START = r'''
def wait_for_start(value):
    import os, time
    if str(value).startswith('/'):
        open(f'{value}.ready.{os.getpid()}', 'w').close()
        while not os.path.exists(value):
            time.sleep(0.01)
    else:
        time.sleep(max(0, float(value) - time.time()))
'''

START_RUN = r'''
import time
from trytond import backend
from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.transaction import Transaction
pool = Pool(DATABASE)
pool.init()
company, start_at, chains, batch, customers = (
    int(ARGS[0]), ARGS[1], int(ARGS[2]), int(ARGS[3]), int(ARGS[4]))
wait_for_start(start_at)
for attempt in range(10):
    try:
        with Transaction().start(DATABASE, 1) as transaction:
            User = pool.get('res.user')
            context = User.get_preferences(context_only=True)
            with transaction.set_context(context, company=company,
                    invoicing_run_batch_size=batch):
                Run = pool.get('customer.invoicing.run')
                Party = pool.get('party.party')
                Date = pool.get('ir.date')
                run = Run(company=company, cutoff_date=Date.today(),
                    invoice_date=Date.today(), sources=['sale'])
                if customers:
                    run.parties = Party.search(
                        [('name', 'in',
                                ['C%03d' % i for i in range(customers)])])
                run.save()
                Run.run([run])
                for i in range(chains - 1):
                    Run.__queue__.process_batch([run])
            transaction.commit()
        print('run', run.id)
        break
    except backend.DatabaseOperationalError as exception:
        # as trytond's dispatcher does: retry with a fresh snapshot
        print('retry', type(exception).__name__)
        time.sleep(0.02 * (attempt + 1))
    except UserError as exception:
        print('error', type(exception).__name__, exception.message)
        break
'''

RESUME = r'''
import datetime as dt
from trytond.pool import Pool
from trytond.transaction import Transaction
pool = Pool(DATABASE)
pool.init()
with Transaction().start(DATABASE, 0) as transaction:
    Run = pool.get('customer.invoicing.run')
    runs = Run.resume_stalled(delay=dt.timedelta(0))
    transaction.commit()
print(len(runs))
'''


def _postgresql_uri():
    "The PostgreSQL pass's server, or None in the SQLite pass"
    uri = support.database_uri()
    if support.is_postgresql(uri):
        return uri
    if os.environ.get('RELIABILITY_TEST') == '1':
        return 'postgresql://127.0.0.1:5432/'
    return None


def database_name(kind):
    "A database name of this run (TEST_DB_PREFIX), dropped by its end"
    prefix = os.environ.get('TEST_DB_PREFIX') or 'test'
    return '%s_invrun_%s_%s' % (prefix, kind, uuid.uuid4().hex[:8])


class InvoicingRunReliabilityTestCase(unittest.TestCase):
    "Invoicing runs bill each sale line once on PostgreSQL with workers"

    modules = MODULES
    setup_code = SETUP  # the data of each test database, printing company
    sales = SALES  # the number of sales of each test database

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        uri = _postgresql_uri()
        if not uri:
            raise unittest.SkipTest(
                "runs in the PostgreSQL pass (or with RELIABILITY_TEST=1)")
        reason = support.postgresql_unavailable(uri)
        if reason:
            raise unittest.SkipTest(
                f"PostgreSQL is not reachable at {uri}: {reason}")
        cls.site = support.Site(uri, overrides={
                'queue': {'worker': 'True'},
                'database': {'retry': '10'},
                })
        cls.template = database_name('rel')
        cls.site.build_cached(cls.template, cls.modules)
        cls.addClassCleanup(cls.site.cleanup)
        cls.addClassCleanup(cls.site.drop, cls.template)
        # the data of the tests, set up once and copied for each test
        cls.data = database_name('data')
        cls.site.copy(cls.template, cls.data)
        cls.addClassCleanup(cls.site.drop, cls.data)
        result = support.run_python(
            cls.site, cls.data, cls.setup_code, *map(str, cls.setup_args()))
        cls.company = int(result.stdout.decode().strip().splitlines()[-1])

    @classmethod
    def setup_args(cls):
        "Return the arguments of setup_code"
        return [cls.sales]

    def setUp(self):
        self.database = database_name('test')
        self.site.copy(self.data, self.database)
        self.addCleanup(self.site.drop, self.database)
        self.processes = []
        self.addCleanup(self.stop_processes)

    def stop_processes(self):
        for process in self.processes:
            process.stop()

    def start_worker(self, name, processes=1):
        worker = self.site.start_worker(
            self.database, name=name, processes=processes)
        self.processes.append(worker)
        return worker

    def query(self, sql, params=()):
        import psycopg
        conninfo = support._pg_conninfo(self.site.uri, self.database)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def item_counts(self):
        return dict(self.query(
                "SELECT state, COUNT(*) FROM customer_invoicing_run_item "
                "GROUP BY state"))

    def wait_runs_finished(self, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = self.query(
                "SELECT COUNT(*) FROM customer_invoicing_run "
                "WHERE state = 'running'")[0][0]
            if not running:
                return
            time.sleep(0.5)
        self.fail("runs still running after %ss: %s" % (
                timeout, self.item_counts()))

    def python(self, code, *args):
        prelude = (
            'import sys\n'
            f'DATABASE = {self.database!r}\n'
            f'CONFIG_FILES = {self.site.config_files!r}\n'
            'ARGS = sys.argv[1:]\n'
            'from trytond import config as _c\n'
            '_c.update_etc(CONFIG_FILES)\n'
            + WAIT_FOR_START)
        return subprocess.Popen(
            [support.PYTHON, '-c', prelude + code, *map(str, args)],
            env=self.site.env(), cwd=support.ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def barrier(self):
        "Return a new barrier path for wait_for_start"
        directory = tempfile.mkdtemp(prefix='barrier-')
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return os.path.join(directory, 'go')

    def open_barrier(self, barrier, processes, timeout=120):
        "Start processes together once each waits at barrier (loaded)"
        deadline = time.monotonic() + timeout
        while len(glob.glob(barrier + '.ready.*')) < len(processes):
            for process in processes:
                if process.poll() is not None:
                    self.fail(process.stdout.read().decode())
            if time.monotonic() > deadline:
                self.fail("processes not ready in time")
            time.sleep(0.01)
        open(barrier, 'w').close()

    def assert_billed_once(self):
        "Every sale line has exactly one invoice line"
        rows = self.query(
            "SELECT sl.id, COUNT(il.id) FROM sale_line sl "
            "LEFT JOIN account_invoice_line il "
            "ON il.origin = 'sale.line,' || sl.id "
            "GROUP BY sl.id")
        self.assertEqual(len(rows), SALES)
        counts = {}
        for _, count in rows:
            counts[count] = counts.get(count, 0) + 1
        self.assertEqual(counts, {1: SALES})
        # each billed item has its invoice line and each line one item
        rows = self.query(
            "SELECT COUNT(*), COUNT(DISTINCT il.invoicing_item) "
            "FROM account_invoice_line il WHERE il.invoicing_item IS NOT NULL")
        self.assertEqual(rows[0], (SALES, SALES))

    def run_items(self):
        "Return the number of items per run and state"
        return {(run, state): count for run, state, count in self.query(
                "SELECT run, state, COUNT(*) "
                "FROM customer_invoicing_run_item GROUP BY run, state")}

    def test_concurrent_runs(self):
        """Two processes start overlapping runs at once with two workers:
        the run over the first 30 customers and the run over all of them"""
        self.start_worker('worker-1')
        self.start_worker('worker-2')
        barrier = self.barrier()
        runners = [self.python(START_RUN, self.company, barrier, 2, 40, n)
            for n in [30, 0]]
        self.open_barrier(barrier, runners)
        outputs = []
        for runner in runners:
            output, _ = runner.communicate(timeout=300)
            outputs.append(output.decode())
        # each process either started its run or, when the other took
        # every source of its selection, got the translated message; no
        # unique violation reaches it (a conflict is a serialization
        # failure, retried with a fresh snapshot)
        runs = []
        for output in outputs:
            last = output.strip().splitlines()[-1]
            if last.startswith('run '):
                runs.append(int(last.split()[1]))
            else:
                self.assertRegex(last,
                    r'^error RunError The invoicing run .* finds no '
                    r'billable item', outputs)
                self.assertNotIn('Traceback', output)
        self.assertTrue(runs, outputs)
        self.wait_runs_finished()
        self.assertEqual(self.item_counts(), {'done': SALES})
        self.assert_billed_once()
        # the sales of the first 30 of the 40 customers (sale i is of
        # customer i % 40): 240 / 40 = 6 sales per customer, 6 x 30 = 180
        partial = SALES // 40 * 30
        items = self.run_items()
        if len(runs) == 2:
            # the partial run collected first (had the full run been
            # first, nothing would have been left for the partial one) and
            # the full run took the leftovers: 240 - 180 = 60
            partial_run, full_run = runs
            self.assertEqual(items, {
                    (partial_run, 'done'): partial,
                    (full_run, 'done'): SALES - partial,
                    })
        else:
            # only the run over all customers can take everything first
            self.assertIn('error', outputs[0])
            self.assertEqual(items, {(runs[0], 'done'): SALES})

    def test_killed_worker(self):
        "A worker killed in the middle of a run, restarted, run resumed"
        worker = self.start_worker('worker-killed')
        runner = self.python(START_RUN, self.company, 0, 1, 20, 0)
        output, _ = runner.communicate(timeout=300)
        self.assertIn('run ', output.decode())
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = self.item_counts().get('done', 0)
            if done >= SALES // 4:
                break
            time.sleep(0.05)
        # SIGKILL the worker and its pool children
        worker._signal(9)
        worker.popen.wait(30)
        counts = self.item_counts()
        self.assertGreater(counts.get('pending', 0), 0, counts)
        lost = self.query(
            "SELECT COUNT(*) FROM ir_queue WHERE dequeued_at IS NOT NULL "
            "AND finished_at IS NULL")[0][0]
        self.start_worker('worker-restarted')
        if lost:
            # the task of the killed batch is gone: the cron resumes
            time.sleep(1)
            result = self.python(RESUME)
            output, _ = result.communicate(timeout=120)
            self.assertEqual(result.returncode, 0, output.decode())
        self.wait_runs_finished()
        self.assertEqual(self.item_counts(), {'done': SALES})
        self.assert_billed_once()


if __name__ == '__main__':
    unittest.main()
