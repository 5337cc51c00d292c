"""Demo and benchmark data generator.

Usage (see ``scripts/generate_data``)::

    generate_data --database NAME [--config FILE] --scale N [--seed S]

It fills a database where the suite's modules are already activated with:

* a main company and a second one (for multi-company cases), each with the
  account module's minimal chart (``trytond.modules.account.tests
  .create_chart``), fiscal years with monthly periods, move and invoice
  sequences, taxes, payment terms, a payment method and a write-off method;
* product categories, goods and services;
* ``scale`` customers with addresses and e-mails, a tenth of them
  headquarters of one to three branches (through ``party.party.headquarter``
  and, when customer_billing is activated, billing profiles and one customer
  account each);
* a year of posted customer invoices and credit notes whose payments arrive
  early, on time, late, partially or never, a few written off and a few
  credited (refunded);
* quotations (sales orders to process) and processed sales with their
  invoices, projects with tasks and timesheets (when the modules are
  activated).

Everything is driven by ``random.Random(seed)``: the same seed and scale give
the same documents and amounts (dates are relative to ``today``).

Small scales use the ORM only (SQLite or PostgreSQL).  On PostgreSQL, from
:data:`BULK_THRESHOLD` customers on, the first customer (and its customer
account) is created through the ORM and every row the ORM inserted for it,
in any table (party, address, contact mechanism, payment term multi-value
... whatever the activated modules add), is cloned with one
``INSERT ... SELECT`` per table for the other customers with their own
name, code (from the party sequence), address, e-mail, payment term and
customer account code and profile (:class:`bench.bulk.RecordCloner`);
headquarters are then set with one ``UPDATE``.  The invoice history is
built from
*bundles*: for each of a few dozen scenarios one invoice is created, posted,
paid, reconciled ... through the ORM for a template customer; every row the
ORM inserted in the ``account_*`` tables for it is then cloned with one
``INSERT ... SELECT`` per table for thousands of customers, shifting ids (id
sequences advanced), references (foreign keys and ``model,id`` references
inside the bundle), the customer (party, address, customer account) and
dates (period recomputed).  Moves, invoices and reconciliations are finally
renumbered in date order from their sequences, whose next numbers are
updated, so the database is what the ORM would have left.  From
:data:`BIG_CUSTOMER_SCALE` customers on, the second customer gets invoices
until it has :data:`BIG_CUSTOMER_LINES` receivable lines
(``--big-customer LINES``).
"""
import argparse
import datetime as dt
import logging
import random
import re
import sys
import time
from collections import defaultdict
from decimal import Decimal

logger = logging.getLogger('bench.generator')

BULK_THRESHOLD = 50
# From this scale on, the bulk path gives one customer (the second) about
# this many receivable lines (the status of one big customer)
BIG_CUSTOMER_SCALE = 10_000
BIG_CUSTOMER_LINES = 50_000
HISTORY_DAYS = 365
CENT = Decimal('0.01')

CITIES = [
    ('Liège', '4000'), ('Namur', '5000'), ('Brussels', '1000'),
    ('Ghent', '9000'), ('Antwerp', '2000'), ('Leuven', '3000'),
    ('Mons', '7000'), ('Bruges', '8000'), ('Hasselt', '3500'),
    ('Arlon', '6700')]
NAMES = [
    'Adams', 'Baker', 'Clark', 'Dubois', 'Evans', 'Fontaine', 'Garcia',
    'Hughes', 'Ibsen', 'Janssens', 'Klein', 'Lambert', 'Martin', 'Nagel',
    'Olsen', 'Peeters', 'Quinn', 'Roux', 'Smet', 'Thomas', 'Urban',
    'Vermeulen', 'Wouters', 'Xavier', 'Young', 'Zimmer']
KINDS = ['Trading', 'Logistics', 'Bakery', 'Garage', 'Consulting', 'Clinic',
    'Foods', 'Hotel', 'Printing', 'Builders']

# (scenario, weight): what happens to an invoice after it is posted
SCENARIOS = [
    ('early', 20),      # paid in full well before the due date
    ('on_time', 25),    # paid in full around the due date
    ('late', 18),       # paid in full after the due date
    ('partial', 7),     # partly paid, the rest still open
    ('two_payments', 6),  # paid in two instalments
    ('unpaid', 14),     # never paid
    ('write_off', 4),   # paid short, the difference written off
    ('credited', 3),    # credited in full (refund)
    ('credit_note', 3),  # a stand-alone credit note (customer credit)
    ]


def _round(value):
    return Decimal(value).quantize(CENT)


class Generator:
    """Generate the data set; see the module docstring.

    ``log`` receives progress messages; ``bulk`` forces (True) or forbids
    (False) the bulk path (default: PostgreSQL and scale >= BULK_THRESHOLD).
    ``big_customer_lines`` (bulk path only; default
    :data:`BIG_CUSTOMER_LINES` from :data:`BIG_CUSTOMER_SCALE` customers on,
    else 0) gives the second customer invoices until it has at least that
    many receivable lines.
    Unless ``strict``, a failure of an optional step (second company, sales,
    projects) is logged and recorded in the summary's ``errors`` instead of
    aborting.
    """

    def __init__(self, database, scale, seed=1, today=None,
            invoices_per_customer=None, bulk=None, log=None, strict=True,
            big_customer_lines=None):
        from trytond import backend
        self.database = database
        self.scale = int(scale)
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today or dt.date.today()
        self.start = self.today - dt.timedelta(days=HISTORY_DAYS)
        if bulk is None:
            bulk = (backend.name == 'postgresql'
                and self.scale >= BULK_THRESHOLD)
        elif bulk and backend.name != 'postgresql':
            raise ValueError("the bulk path needs PostgreSQL")
        self.bulk = bulk
        if invoices_per_customer is None:
            invoices_per_customer = 48 if bulk else 6
        self.invoices_per_customer = invoices_per_customer
        if big_customer_lines is None:
            big_customer_lines = (BIG_CUSTOMER_LINES
                if bulk and self.scale >= BIG_CUSTOMER_SCALE else 0)
        elif big_customer_lines and not bulk:
            raise ValueError("a big customer needs the bulk path")
        self.big_customer_lines = big_customer_lines
        self.big_customer = None
        self.log = log or logger.info
        self.timings = {}
        self.strict = strict
        self.errors = {}
        self.pool = None
        self._locks = set()

    # -- infrastructure ----------------------------------------------------

    def _run(self, func, company=None, commit=True):
        """Run func() in a transaction as root, retrying with table locks
        as trytond's dispatcher does, then run the queued tasks."""
        from trytond.transaction import (
            Transaction, TransactionError, _TransactionLockError,
            _TransactionLockRecordsError)
        context = self._context(company) if company else {}
        context['_skip_warnings'] = True
        while True:
            transaction = Transaction().start(self.database, 0,
                context=context, _lock_tables=sorted(self._locks))
            try:
                result = func()
            except (_TransactionLockError,
                    _TransactionLockRecordsError) as exception:
                transaction.stop(False)
                self._locks.add(exception._table)
                continue
            except TransactionError:
                transaction.stop(False)
                continue
            except BaseException:
                transaction.stop(False)
                raise
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
            transaction.stop(commit)
            break
        if commit and tasks:
            self._run_tasks(tasks)
        return result

    def _run_tasks(self, task_ids):
        """Run the queued tasks except the printing of invoices (rendering
        the report cache of every invoice would dominate the generation
        time): those tasks are deleted."""
        from trytond.transaction import Transaction
        from trytond.worker import run_task
        Queue = self.pool.get('ir.queue')
        with Transaction().start(self.database, 0) as transaction:
            # A worker may already have run some of them
            tasks = Queue.search([('id', 'in', task_ids)])
            prints = [t for t in tasks
                if t.data.get('method') == 'print_invoice']
            Queue.delete(prints)
            task_ids = [t.id for t in tasks if t not in prints]
            transaction.commit()
        for task_id in task_ids:
            run_task(self.pool, task_id)

    def _context(self, company):
        return {'company': company, 'companies': [company],
            'language': 'en'}

    def _step(self, name, func, *args, optional=False):
        start = time.perf_counter()
        try:
            result = func(*args)
        except Exception as exception:
            if self.strict or not optional:
                raise
            logger.exception("step %s failed", name)
            self.errors[name] = f'{type(exception).__name__}: {exception}'
            result = None
        self.timings[name] = round(time.perf_counter() - start, 2)
        self.log(f"{name}: {self.timings[name]} s")
        return result

    def activated(self, name):
        return name in self.modules

    def run(self):
        "Generate everything and return a summary dictionary."
        from trytond import config
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        # Run queued tasks (e.g. invoice processing) inline, as the
        # dispatcher would without worker.
        self._worker = config.get('queue', 'worker', default='False')
        config.set('queue', 'worker', 'False')
        try:
            self.pool = Pool(self.database)
            with Transaction().start(self.database, 0, readonly=True):
                self.pool.init()
                Module = self.pool.get('ir.module')
                self.modules = {m.name for m in Module.search(
                        [('state', '=', 'activated')])}
                Company = self.pool.get('company.company')
                if Company.search([], limit=1):
                    raise ValueError(
                        f"database {self.database} already has a company")
            start = time.perf_counter()
            self._step('base', self.create_base)
            self._step('customers', self.create_customers)
            if self.activated('customer_billing'):
                self._step('billing', self.create_billing)
            if self.bulk:
                self._step('invoices (bulk)', self.create_invoices_bulk)
            else:
                self._step('invoices', self.create_invoices_orm)
            self._step('second company', self.create_second_company,
                optional=True)
            if self.activated('sale'):
                self._step('sales', self.create_sales, optional=True)
            if self.activated('timesheet') and self.activated('project'):
                self._step('projects', self.create_projects,
                    optional=True)
            self.timings['total'] = round(time.perf_counter() - start, 2)
            return self.summary()
        finally:
            config.set('queue', 'worker', self._worker)

    # -- base data ---------------------------------------------------------

    def create_base(self):
        def companies():
            currency = self._create_currency()
            return [self._create_company(name, currency, tax=i == 0)
                for i, name in enumerate(
                    ['Acme Distribution', 'Acme Services'])]
        self.companies = self._run(companies)
        self.products = self._run(
            self._create_products, self.companies[0]['id'])

    def _create_currency(self):
        Currency = self.pool.get('currency.currency')
        currencies = Currency.search([('code', '=', 'USD')])
        if currencies:
            currency, = currencies
        else:
            currency, = Currency.create([{
                        'name': 'US Dollar', 'code': 'USD', 'symbol': '$',
                        'rates': [('create', [{
                                        'date': dt.date(2000, 1, 1),
                                        'rate': Decimal(1)}])],
                        }])
        return currency

    def _create_company(self, name, currency, tax):
        from trytond.modules.account.tests import create_chart
        from trytond.transaction import Transaction
        pool = self.pool
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        User = pool.get('res.user')
        Account = pool.get('account.account')
        party, = Party.create([{'name': name, 'addresses': [('create', [{
                                'street': '1 Main Street',
                                'postal_code': '4000', 'city': 'Liège'}])]}])
        company, = Company.create([{'party': party.id,
                    'currency': currency.id}])
        admin, = User.search([('login', '=', 'admin')])
        values = {'companies': [('add', [company.id])]}
        if not admin.company:
            values['company'] = company.id
        User.write([admin], values)
        with Transaction().set_context(**self._context(company.id)):
            create_chart(company, tax=tax)
            info = {'id': company.id, 'name': name, 'party': party.id,
                'currency': currency.id}
            info['accounts'] = accounts = {}
            for kind in ['receivable', 'payable', 'revenue', 'expense']:
                accounts[kind], = Account.search([
                        ('type.%s' % kind, '=', True),
                        ('company', '=', company.id),
                        ('closed', '!=', True)], limit=1)
                accounts[kind] = accounts[kind].id
            for kind, code in [('cash', '1.1.1'), ('tax', '6.3.6')]:
                accounts[kind], = Account.search([
                        ('company', '=', company.id),
                        ('code', '=', code)], limit=1)
                accounts[kind] = accounts[kind].id
            self._create_fiscal_years(company)
            info.update(self._create_accounting(company, accounts))
        return info

    def _create_fiscal_years(self, company):
        pool = self.pool
        Sequence = pool.get('ir.sequence.strict')
        SequenceType = pool.get('ir.sequence.type')
        FiscalYear = pool.get('account.fiscalyear')
        InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
        move_type, = SequenceType.search([('name', '=', "Account Move")])
        invoice_type, = SequenceType.search([('name', '=', "Invoice")])
        for year in range(self.start.year, self.today.year + 1):
            def sequence(prefix, type_):
                return Sequence.create([{
                            'name': f'{prefix}{year}',
                            'sequence_type': type_.id,
                            'company': company.id,
                            'prefix': f'{prefix}{year}/',
                            'padding': 6}])[0]
            move_seq = sequence('M', move_type)
            invoice_seq = sequence('INV', invoice_type)
            credit_seq = sequence('CN', invoice_type)
            supplier_seq = sequence('SUP', invoice_type)
            fiscalyear, = FiscalYear.create([{
                        'name': str(year),
                        'company': company.id,
                        'start_date': dt.date(year, 1, 1),
                        'end_date': dt.date(year, 12, 31),
                        'move_sequence': move_seq.id,
                        }])
            InvoiceSequence.create([{
                        'fiscalyear': fiscalyear.id,
                        'company': company.id,
                        'out_invoice_sequence': invoice_seq.id,
                        'out_credit_note_sequence': credit_seq.id,
                        'in_invoice_sequence': supplier_seq.id,
                        'in_credit_note_sequence': supplier_seq.id,
                        }])
            FiscalYear.create_period([fiscalyear])

    def _create_accounting(self, company, accounts):
        pool = self.pool
        Tax = pool.get('account.tax')
        Journal = pool.get('account.journal')
        PaymentTerm = pool.get('account.invoice.payment_term')
        PaymentMethod = pool.get('account.invoice.payment.method')
        WriteOff = pool.get('account.move.reconcile.write_off')
        vat, = Tax.search([('company', '=', company.id)], limit=1)
        reduced, = Tax.create([{
                    'name': '6% VAT', 'description': '6% VAT',
                    'company': company.id,
                    'type': 'percentage', 'rate': Decimal('0.06'),
                    'invoice_account': accounts['tax'],
                    'credit_note_account': accounts['tax']}])
        cash_journal, = Journal.search([('type', '=', 'cash')], limit=1)
        revenue_journal, = Journal.search([('type', '=', 'revenue')], limit=1)
        method, = PaymentMethod.create([{
                    'name': 'Bank transfer', 'company': company.id,
                    'journal': cash_journal.id,
                    'credit_account': accounts['cash'],
                    'debit_account': accounts['cash']}])
        write_off_journals = Journal.search([('code', '=', 'WO')])
        if not write_off_journals:
            write_off_journals = Journal.create([{'name': 'Write-Off',
                        'code': 'WO', 'type': 'write-off'}])
        write_off, = WriteOff.create([{
                    'name': 'Small differences', 'company': company.id,
                    'journal': write_off_journals[0].id,
                    'credit_account': accounts['expense'],
                    'debit_account': accounts['expense']}])

        def delta(days):
            return [('create', [{'days': days}])]
        terms = PaymentTerm.create([{
                    'name': 'Net 30 days',
                    'lines': [('create', [{'type': 'remainder',
                                    'relativedeltas': delta(30)}])]}, {
                    'name': 'Immediate',
                    'lines': [('create', [{'type': 'remainder'}])]}, {
                    'name': '50% 30 days, 50% 60 days',
                    'lines': [('create', [{
                                    'type': 'percent',
                                    'ratio': Decimal('0.5'),
                                    'divisor': Decimal('2'),
                                    'relativedeltas': delta(30)}, {
                                    'type': 'remainder',
                                    'relativedeltas': delta(60)}])]}])
        return {
            'taxes': [vat.id, reduced.id],
            'payment_method': method.id,
            'write_off': write_off.id,
            'journal': revenue_journal.id,
            'payment_terms': [t.id for t in terms],
            'term_days': {terms[0].id: 30, terms[1].id: 0, terms[2].id: 60},
            }

    def _create_products(self):
        from trytond.transaction import Transaction
        pool = self.pool
        Category = pool.get('product.category')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        hour, = Uom.search([('name', '=', 'Hour')])
        categories = {}
        for kind in ['goods', 'service']:
            category, = Category.create([{'name': kind.title(),
                        'accounting': True}])
            categories[kind] = category
            for company in self.companies:
                with Transaction().set_context(company=company['id']):
                    Category.write([Category(category.id)], {
                            'account_revenue':
                            company['accounts']['revenue'],
                            'account_expense':
                            company['accounts']['expense'],
                            'customer_taxes': [
                                ('add', company['taxes'][:1])],
                            })
        rng = random.Random(self.seed + 1)
        goods = ['Paper ream', 'Toner', 'Desk', 'Chair', 'Lamp', 'Cable',
            'Screen', 'Keyboard', 'Binder', 'Stapler', 'Shelf', 'Printer']
        services = ['Consulting', 'Installation', 'Maintenance', 'Training',
            'Support', 'Audit']
        vlist = []
        for name in goods:
            vlist.append({'name': name, 'type': 'goods',
                    'list_price': _round(rng.uniform(2, 400)),
                    'default_uom': unit.id, 'salable': True,
                    'sale_uom': unit.id,
                    'account_category': categories['goods'].id,
                    'products': [('create', [{}])]})
        for name in services:
            vlist.append({'name': name, 'type': 'service',
                    'list_price': _round(rng.uniform(40, 150)),
                    'default_uom': hour.id, 'salable': True,
                    'sale_uom': hour.id,
                    'account_category': categories['service'].id,
                    'products': [('create', [{}])]})
        templates = Template.create(vlist)
        return [{
                'id': t.products[0].id, 'type': t.type,
                'price': t.list_price, 'unit': t.default_uom.id,
                'name': t.name} for t in templates]

    # -- customers ---------------------------------------------------------

    def create_customers(self):
        from trytond.transaction import Transaction
        pool = self.pool
        Party = pool.get('party.party')
        has_hq = 'headquarter' in Party._fields
        rng = self.rng
        company = self.companies[0]
        specs = []
        for i in range(self.scale):
            city, zip_ = CITIES[rng.randrange(len(CITIES))]
            name = (f"{rng.choice(NAMES)} {rng.choice(KINDS)} "
                f"{i + 1:05d}")
            specs.append({
                    'name': name,
                    'addresses': [('create', [{
                                    'street': f'{rng.randint(1, 200)} '
                                    f'{rng.choice(NAMES)} Street',
                                    'postal_code': zip_, 'city': city}])],
                    'contact_mechanisms': [('create', [{
                                    'type': 'email',
                                    'value': f'billing{i + 1}@example.com'}])],
                    'customer_payment_term': rng.choice(
                        company['payment_terms']),
                    })
        # A tenth of the customers are headquarters of 1-3 branches
        # that follow them in the list.
        branches = {}
        i = 0
        while i < self.scale:
            if rng.random() < 0.1 and i + 1 < self.scale:
                count = min(rng.randint(1, 3), self.scale - i - 1)
                for j in range(1, count + 1):
                    branches[i + j] = i
                i += count + 1
            else:
                i += 1

        def _tx():
            if self.bulk:
                self.customers = self._create_customers_bulk(specs)
            else:
                self.customers = []
                for start in range(0, len(specs), 500):
                    parties = Party.create(specs[start:start + 500])
                    self.customers.extend(self._customer(p, s)
                        for p, s in zip(parties, specs[start:start + 500]))
            for index, hq_index in branches.items():
                self.customers[index]['headquarter'] = (
                    self.customers[hq_index]['id'])
            if has_hq and branches and self.bulk:
                cursor = Transaction().connection.cursor()
                cursor.execute(
                    "UPDATE party_party p SET headquarter = v.hq "
                    "FROM unnest(%s::INTEGER[], %s::INTEGER[]) "
                    "AS v (id, hq) WHERE p.id = v.id", (
                        [self.customers[i]['id'] for i in branches],
                        [self.customers[h]['id']
                            for h in branches.values()]))
            elif has_hq and branches:
                by_hq = defaultdict(list)
                for index, hq_index in branches.items():
                    by_hq[self.customers[hq_index]['id']].append(
                        self.customers[index]['id'])
                args = []
                for hq, ids in by_hq.items():
                    args.extend([Party.browse(ids), {'headquarter': hq}])
                Party.write(*args)
        self._run(_tx, company['id'])
        self.branches = len(branches)

    @staticmethod
    def _customer(party, spec):
        return {'id': party.id, 'address': party.addresses[0].id,
            'payment_term': spec['customer_payment_term'],
            'account': None, 'headquarter': None}

    def _create_customers_bulk(self, specs):
        """Create the first customer through the ORM and clone every row
        it inserted (party, address, contact mechanism, payment term
        multi-value ... whatever the activated modules add) for the others
        with their own name, code, address, e-mail and payment term."""
        from .bulk import RecordCloner
        pool = self.pool
        Party = pool.get('party.party')
        cloner = RecordCloner(pool, [
                ('name', 'VARCHAR'), ('code', 'VARCHAR'),
                ('code_alnum', 'VARCHAR'), ('code_digit', 'BIGINT'),
                ('street', 'VARCHAR'), ('postal_code', 'VARCHAR'),
                ('city', 'VARCHAR'), ('email', 'VARCHAR'),
                ('payment_term', 'INTEGER')], {
                'party_party': {'name': 'p.name', 'code': 'p.code',
                    'code_alnum': 'p.code_alnum',
                    'code_digit': 'p.code_digit'},
                # street is a Function field over street_unstructured
                'party_address': {'street_unstructured': 'p.street',
                    'postal_code': 'p.postal_code', 'city': 'p.city'},
                'party_contact_mechanism': {'value': 'p.email',
                    'value_compact': 'p.email'},
                'party_party_payment_term': {
                    'customer_payment_term': 'p.payment_term'},
                })
        with cloner.capture() as bundle:
            party, = Party.create(specs[:1])
        tables = set(bundle['ranges'])
        expected = {'party_party', 'party_address', 'party_contact_mechanism'}
        if not expected <= tables:
            raise ValueError(f"customer rows not captured: {sorted(tables)}")
        self._check_single(bundle, cloner)
        customers = [self._customer(party, specs[0])]
        sequence = Party._code_sequence()
        rows = []
        for spec in specs[1:]:
            address, = spec['addresses'][0][1]
            email, = spec['contact_mechanisms'][0][1]
            code = sequence.get() if sequence else None
            digits = re.sub(r'\D', '', code or '')[-18:]
            rows.append((spec['name'], code,
                    re.sub(r'[\W_]', '', code) if code else None,
                    int(digits) if digits else None,
                    address['street'], address['postal_code'],
                    address['city'], email['value'],
                    spec['customer_payment_term']))
        ids = cloner.clone(bundle, rows)
        for spec, party_id, address_id in zip(specs[1:],
                ids['party_party'], ids['party_address']):
            customers.append({'id': party_id, 'address': address_id,
                    'payment_term': spec['customer_payment_term'],
                    'account': None, 'headquarter': None})
        return customers

    @staticmethod
    def _check_single(bundle, cloner):
        "The overridden tables must have one row per record"
        for table in cloner.overrides:
            before, after = bundle['ranges'].get(table, (0, 0))
            if after - before != 1:
                raise ValueError(
                    f"{after - before} rows in {table} for one record")

    def create_billing(self):
        pool = self.pool
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        company = self.companies[0]
        fields_ = Profile._fields

        def _tx():
            vlist = []
            for code, name, grouping, cycle, bill_to in [
                    ('ORDER', "Per order", 'order', 'immediate', 'customer'),
                    ('MONTH', "Monthly statement", 'account', 'monthly',
                        'customer'),
                    ('HQ', "Billed to headquarter", 'headquarter',
                        'monthly', 'headquarter'),
                    ]:
                values = {'code': code, 'name': name,
                    'company': company['id'],
                    'payment_term': company['payment_terms'][0],
                    'grouping': grouping, 'cycle': cycle,
                    'cycle_day': 1, 'channel': 'email',
                    'bill_to': bill_to,
                    'currency': self.companies[0]['currency']}
                vlist.append({k: v for k, v in values.items()
                        if k in fields_})
            profiles = Profile.create(vlist)
            vlist = []
            for i, customer in enumerate(self.customers):
                if customer['headquarter']:
                    profile = profiles[2]
                else:
                    profile = profiles[self.rng.random() < 0.3]
                vlist.append({'code': f'CA{i + 1:06d}',
                        'party': customer['id'], 'profile': profile.id,
                        'company': company['id'], 'start_date': self.start,
                        'state': 'active'})
            if self.bulk:
                ids = self._create_accounts_bulk(vlist)
            else:
                ids = []
                for start in range(0, len(vlist), 1000):
                    ids.extend(a.id
                        for a in Account.create(vlist[start:start + 1000]))
            for customer, account_id in zip(self.customers, ids):
                customer['account'] = account_id
        self._run(_tx, company['id'])

    def _create_accounts_bulk(self, vlist):
        """Create the first customer account through the ORM and clone its
        rows for the other customers; return the ids in vlist's order."""
        from .bulk import RecordCloner
        Account = self.pool.get('customer.account')
        cloner = RecordCloner(self.pool, [('code', 'VARCHAR'),
                ('party', 'INTEGER'), ('profile', 'INTEGER')], {
                'customer_account': {'code': 'p.code', 'party': 'p.party',
                    'profile': 'p.profile'}})
        with cloner.capture() as bundle:
            account, = Account.create(vlist[:1])
        self._check_single(bundle, cloner)
        ids = cloner.clone(bundle, [(v['code'], v['party'], v['profile'])
                for v in vlist[1:]])
        return [account.id] + ids['customer_account']

    # -- invoice plans -----------------------------------------------------

    def plan_invoice(self, rng, company, customer, date, scenario=None):
        "Return the plan of an invoice: values and events by day offset."
        if scenario is None:
            scenario = rng.choices(
                [s for s, _ in SCENARIOS], [w for _, w in SCENARIOS])[0]
        sign = -1 if scenario == 'credit_note' else 1
        lines = []
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            product = rng.choice(self.products)
            lines.append({
                    'product': product['id'],
                    'quantity': float(sign * rng.randint(1, 12)),
                    'unit': product['unit'],
                    'unit_price': product['price'],
                    'tax': company['taxes'][
                        product['type'] == 'service' and rng.random() < .3],
                    'description': product['name'],
                    })
        term = customer['payment_term'] or company['payment_terms'][0]
        due = company['term_days'][term]
        events = []
        if scenario == 'early':
            events.append((rng.randint(0, max(due // 2, 1)), 'pay', 1))
        elif scenario == 'on_time':
            events.append((max(due - rng.randint(0, 5), 0), 'pay', 1))
        elif scenario == 'late':
            events.append((due + rng.randint(5, 90), 'pay', 1))
        elif scenario == 'partial':
            events.append((rng.randint(due // 2, due + 30), 'pay',
                    rng.choice([0.25, 0.4, 0.5, 0.6])))
        elif scenario == 'two_payments':
            first = rng.randint(5, due + 10)
            events.append((first, 'pay', 0.5))
            events.append((first + rng.randint(10, 45), 'pay', 1))
        elif scenario == 'write_off':
            events.append((due + rng.randint(0, 20), 'write_off',
                    _round(rng.uniform(0.5, 5))))
        elif scenario == 'credited':
            events.append((7, 'credit', None))
        return {'company': company, 'customer': customer, 'date': date,
            'term': term, 'lines': lines, 'scenario': scenario,
            'events': events}

    def _invoice_values(self, plan):
        company = plan['company']
        customer = plan['customer']
        values = {
            'company': company['id'],
            'type': 'out',
            'party': customer['id'],
            'invoice_address': customer['address'],
            'currency': company['currency'],
            'account': company['accounts']['receivable'],
            'journal': company['journal'],
            'payment_term': plan['term'],
            'invoice_date': plan['date'],
            'lines': [('create', [{
                                'type': 'line',
                                'product': l['product'],
                                'description': l['description'],
                                'quantity': l['quantity'],
                                'unit': l['unit'],
                                'unit_price': l['unit_price'],
                                'account': company['accounts']['revenue'],
                                'taxes': [('add', [l['tax']])],
                                } for l in plan['lines']])],
            }
        if customer.get('account') and company is self.companies[0]:
            values['customer_account'] = customer['account']
        return values

    def execute_plans(self, plans, cutoff):
        """Create the invoices of plans and play their events up to cutoff,
        in date order (invoice numbers must follow dates)."""
        pool = self.pool
        Invoice = pool.get('account.invoice')
        invoice_fields = Invoice._fields
        vlist = []
        for plan in plans:
            values = self._invoice_values(plan)
            vlist.append({k: v for k, v in values.items()
                    if k in invoice_fields})
        invoices = []
        for start in range(0, len(vlist), 200):
            invoices.extend(Invoice.create(vlist[start:start + 200]))
        timeline = defaultdict(lambda: defaultdict(list))
        for plan, invoice in zip(plans, invoices):
            plan['invoice'] = invoice.id
            timeline[plan['date']]['post'].append(plan)
            for offset, kind, arg in plan['events']:
                date = plan['date'] + dt.timedelta(days=offset)
                if date <= cutoff:
                    timeline[date][kind].append((plan, arg))
        for date in sorted(timeline):
            actions = timeline[date]
            if actions['post']:
                Invoice.post(Invoice.browse(
                        [p['invoice'] for p in actions['post']]))
            if actions['credit']:
                Invoice.credit(Invoice.browse(
                        [p['invoice'] for p, _ in actions['credit']]),
                    refund=True, invoice_date=date)
            for plan, arg in actions['pay']:
                self._pay(Invoice(plan['invoice']), date, arg)
            for plan, arg in actions['write_off']:
                self._pay(Invoice(plan['invoice']), date, None, arg)
        return invoices

    def _pay(self, invoice, date, fraction, short=None):
        pool = self.pool
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.move.line')
        company = self.companies[0 if invoice.company.id
            == self.companies[0]['id'] else 1]
        method = pool.get('account.invoice.payment.method')(
            company['payment_method'])
        to_pay = invoice.amount_to_pay
        if short is not None:
            amount = to_pay - short
        elif fraction == 1:
            amount = to_pay
        else:
            amount = _round(invoice.total_amount * Decimal(str(fraction)))
        invoice.pay_invoice(amount, method, date)
        if amount == to_pay or short is not None:
            invoice = Invoice(invoice.id)
            lines = [l for l in invoice.lines_to_pay + invoice.payment_lines
                if not l.reconciliation]
            kwargs = {}
            if short is not None:
                kwargs = {'writeoff': pool.get(
                        'account.move.reconcile.write_off')(
                        company['write_off']), 'date': date}
            Line.reconcile(lines, **kwargs)
            Invoice.process([invoice])

    def _plan_dates(self, rng, count):
        return sorted(self.start + dt.timedelta(
                days=rng.randint(0, HISTORY_DAYS)) for _ in range(count))

    def plan_invoices(self):
        "Plans of the main company's invoices, in date order."
        rng = random.Random(self.seed + 2)
        company = self.companies[0]
        plans = []
        for customer in self.customers:
            count = max(1, round(rng.gauss(self.invoices_per_customer,
                        self.invoices_per_customer / 4)))
            for date in self._plan_dates(rng, count):
                plans.append(self.plan_invoice(rng, company, customer, date))
        plans.sort(key=lambda p: p['date'])
        return plans

    def create_invoices_orm(self):
        self.plans = plans = self.plan_invoices()

        def _tx():
            self.execute_plans(plans, self.today)
        self._run(_tx, self.companies[0]['id'])
        self.invoice_count = len(plans)

    def create_second_company(self):
        rng = random.Random(self.seed + 3)
        company = self.companies[1]
        plans = []
        for customer in self.customers[:2]:
            customer = dict(customer, payment_term=None, account=None)
            for date in self._plan_dates(rng, 2):
                plans.append(self.plan_invoice(rng, company, customer, date))
        plans.sort(key=lambda p: p['date'])

        def _tx():
            self.execute_plans(plans, self.today)
        self._run(_tx, company['id'])

    # -- bulk path (PostgreSQL) --------------------------------------------

    def create_invoices_bulk(self):
        from trytond.transaction import Transaction

        from .bulk import BundleCloner
        rng = random.Random(self.seed + 2)
        company = self.companies[0]
        template = self.customers[0]
        base = self.start
        cloner = BundleCloner(self)
        # Build bundles: stand-alone credit notes first so that credit
        # note numbers follow their dates.
        order = sorted(
            [s for s, w in SCENARIOS for _ in range(max(2, w // 2))],
            key=lambda s: s != 'credit_note')

        def _tx():
            bundles = []
            for scenario in order:
                customer = dict(template,
                    payment_term=rng.choice(company['payment_terms']))
                plan = self.plan_invoice(rng, company, customer, base,
                    scenario=scenario)
                span = max([o for o, _, _ in plan['events']] or [0])
                with cloner.capture() as bundle:
                    self.execute_plans([plan], self.today)
                bundle.update(scenario=scenario, span=span)
                bundles.append(bundle)
            cursor = Transaction().connection.cursor()
            for bundle in bundles:
                cursor.execute(
                    "SELECT COUNT(*) FROM account_move_line l "
                    "JOIN account_account a ON a.id = l.account "
                    "JOIN account_account_type t ON t.id = a.type "
                    "WHERE t.receivable AND l.id > %s AND l.id <= %s",
                    bundle['ranges'].get('account_move_line', (0, 0)))
                bundle['receivable_lines'], = cursor.fetchone()
            return bundles
        bundles = self._run(_tx, company['id'])
        weights = dict(SCENARIOS)
        per_bundle = defaultdict(int)
        for s in order:
            per_bundle[s] += 1
        bundle_weights = [weights[b['scenario']] / per_bundle[b['scenario']]
            for b in bundles]
        big = self.customers[1] if (
            self.big_customer_lines and len(self.customers) > 1) else None
        clones = []
        for customer in self.customers[1:]:
            count = max(1, round(rng.gauss(self.invoices_per_customer,
                        self.invoices_per_customer / 4)))
            lines = 0
            while (lines < self.big_customer_lines if customer is big
                    else count):
                count -= 1
                bundle = rng.choices(bundles, bundle_weights)[0]
                latest = HISTORY_DAYS - bundle['span']
                if latest < 0:
                    continue
                delta = rng.randint(0, latest)
                clones.append((bundle, customer, delta))
                lines += bundle['receivable_lines']
            if customer is big:
                self.big_customer = {
                    'id': customer['id'], 'receivable_lines': lines}

        def _tx():
            cloner.clone(clones)
            cloner.renumber(company['id'])
        self._run(_tx, company['id'])
        self.invoice_count = len(clones) + len(bundles)

    # -- sales and projects ------------------------------------------------

    def create_sales(self):
        pool = self.pool
        Sale = pool.get('sale.sale')
        rng = random.Random(self.seed + 4)
        company = self.companies[0]
        goods = [p for p in self.products if p['type'] == 'goods']
        services = [p for p in self.products if p['type'] == 'service']
        processed = min(self.scale, 20)
        quotations = min(self.scale, 1000)
        customers = self.customers
        vlist = []
        for i in range(processed + quotations):
            customer = customers[i % len(customers)]
            lines = []
            for product in [rng.choice(goods), rng.choice(services)][
                    :rng.randint(1, 2)]:
                lines.append({'type': 'line', 'product': product['id'],
                        'quantity': float(rng.randint(1, 10)),
                        'unit': product['unit'],
                        'unit_price': product['price'],
                        'taxes': [('add', company['taxes'][:1])],
                        'description': product['name']})
            values = {'company': company['id'], 'party': customer['id'],
                'invoice_address': customer['address'],
                'shipment_address': customer['address'],
                'payment_term': customer['payment_term'],
                'currency': self.companies[0]['currency'],
                'sale_date': self.today - dt.timedelta(
                    days=rng.randint(0, 20)),
                'invoice_method': 'order',
                'shipment_method': 'order',
                'lines': [('create', lines)]}
            if customer['account'] and 'customer_account' in Sale._fields:
                values['customer_account'] = customer['account']
            vlist.append(values)

        def _tx():
            sales = []
            for start in range(0, len(vlist), 250):
                sales.extend(Sale.create(vlist[start:start + 250]))
            Sale.quote(sales)
            done = sales[:processed]
            Sale.confirm(done)
            Sale.process(done)
            Invoice = pool.get('account.invoice')
            # Several sales may share an invoice (invoice grouping)
            invoices = Invoice.browse(sorted(
                    {i.id for s in Sale.browse(done) for i in s.invoices}))
            Invoice.write(invoices, {'invoice_date': self.today})
            Invoice.post(invoices)
        self._run(_tx, company['id'])
        self.sale_count = (processed, quotations)

    def create_projects(self):
        pool = self.pool
        Work = pool.get('project.work')
        Employee = pool.get('company.employee')
        Party = pool.get('party.party')
        Line = pool.get('timesheet.line')
        rng = random.Random(self.seed + 5)
        company = self.companies[0]
        services = [p for p in self.products if p['type'] == 'service']

        def _tx():
            people = Party.create([{'name': n} for n in
                    ['Pam Beesly', 'Jim Halpert', 'Dwight Schrute']])
            employees = Employee.create([{'party': p.id,
                        'company': company['id']} for p in people])
            projects = []
            for i, customer in enumerate(self.customers[:min(self.scale, 20)]):
                product = rng.choice(services)
                values = {'name': f'Project {i + 1:03d}', 'type': 'project',
                    'company': company['id'], 'party': customer['id'],
                    'timesheet_available': True,
                    'children': [('create', [{
                                    'name': f'Task {i + 1:03d}.{j}',
                                    'type': 'task',
                                    'company': company['id'],
                                    'timesheet_available': True,
                                    } for j in (1, 2)])]}
                if 'project_invoice_method' in Work._fields:
                    values['project_invoice_method'] = 'timesheet'
                if 'product' in Work._fields:
                    values['product'] = product['id']
                    values['list_price'] = product['price']
                    for child in values['children'][0][1]:
                        child['product'] = product['id']
                        child['list_price'] = product['price']
                projects.append(values)
            works = Work.create(projects)
            lines = []
            for work in works:
                for task in work.children:
                    for _ in range(rng.randint(2, 5)):
                        lines.append({'company': company['id'],
                                'employee': rng.choice(employees).id,
                                'work': task.timesheet_works[0].id,
                                'date': self.today - dt.timedelta(
                                    days=rng.randint(1, 60)),
                                'duration': dt.timedelta(
                                    hours=rng.choice([1, 2, 4, 8]))})
            Line.create(lines)
            return len(works)
        self.project_count = self._run(_tx, company['id'])

    # -- summary -----------------------------------------------------------

    def summary(self):
        from trytond.transaction import Transaction
        pool = self.pool
        Invoice = pool.get('account.invoice')
        with Transaction().start(self.database, 0, readonly=True):
            cursor = Transaction().connection.cursor()
            cursor.execute(
                'SELECT COUNT(*) FROM account_move_line l '
                'JOIN account_account a ON a.id = l.account '
                'JOIN account_account_type t ON t.id = a.type '
                'WHERE t.receivable')
            receivable_lines, = cursor.fetchone()
            invoices = Invoice.search_count([('type', '=', 'out')])
        return {
            'database': self.database, 'scale': self.scale,
            'seed': self.seed, 'bulk': self.bulk,
            'customers': len(self.customers), 'branches': self.branches,
            'big_customer': self.big_customer,
            'invoices': invoices, 'receivable_lines': receivable_lines,
            'timings': self.timings, 'errors': self.errors,
            }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', default=None)
    parser.add_argument('--scale', type=int, required=True,
        help="number of customers")
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--invoices-per-customer', type=int, default=None)
    parser.add_argument('--bulk', dest='bulk', action='store_true',
        default=None)
    parser.add_argument('--no-bulk', dest='bulk', action='store_false')
    parser.add_argument('--big-customer', type=int, default=None,
        metavar='LINES', help="receivable lines of the second customer "
        f"(bulk only; default {BIG_CUSTOMER_LINES} from scale "
        f"{BIG_CUSTOMER_SCALE}, else 0)")
    args = parser.parse_args(argv)
    from trytond import config
    if args.config:
        config.update_etc(args.config)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    generator = Generator(args.database, args.scale, seed=args.seed,
        invoices_per_customer=args.invoices_per_customer, bulk=args.bulk,
        big_customer_lines=args.big_customer,
        log=lambda m: print(m, file=sys.stderr, flush=True))
    try:
        summary = generator.run()
    except ValueError as exception:
        parser.exit(1, f"generate_data: {exception}\n")
    for key, value in summary.items():
        print(f"{key}: {value}")
    return summary


if __name__ == '__main__':
    main()
