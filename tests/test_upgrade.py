"""Activating the suite on a database that already runs Tryton

A database is built and populated with stock modules only (a sale and its
invoice, a payment, a project with invoiced timesheets, a web user, a
subscription), then the suite is activated on it with trytond-admin as an
administrator would.  The migrations of the suite's ``__register__`` must
make the old data count: the customer invoices and their lines get their
party as originating customer (searched and billed by originating
customer), the project with invoiced time is contracted, and the status
window reports the old ledger.

Runs on the database of the run (SQLite, or PostgreSQL with
TRYTOND_DATABASE_URI); PostgreSQL database names start with DB_NAME.
"""
import datetime as dt
import json
import os
import unittest
from decimal import Decimal

from . import support

STOCK = ['sale', 'sale_subscription', 'project_invoice', 'web_user',
    'timesheet', 'account_invoice']
SUITE = ['customer_status', 'customer_billing', 'customer_self_service',
    'customer_invoicing_run', 'customer_project']


def populate(database, config_files):
    "Create the stock records (run in a child process with proteus)"
    from proteus import Model
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company
    pconfig.set_trytond(database, config_file=config_files)
    create_company()
    create_chart()
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
    fiscalyear.click('create_period')
    accounts = get_accounts()

    Party = Model.get('party.party')
    customer = Party(name="Old Customer")
    customer.addresses.new()
    customer.save()
    employee_party = Party(name="Employee")
    employee_party.save()
    employee = Model.get('company.employee')(party=employee_party)
    employee.save()

    Category = Model.get('product.category')
    category = Category(name="Services", accounting=True,
        account_revenue=accounts['revenue'])
    category.save()
    Uom = Model.get('product.uom')
    hour, = Uom.find([('name', '=', 'Hour')])
    Template = Model.get('product.template')
    template = Template(name="Consulting", type='service', salable=True,
        default_uom=hour, sale_uom=hour, list_price=Decimal(20),
        account_category=category)
    template.save()
    product, = template.products

    # a sale of 5 hours at 20: invoice of 100, left unpaid
    Sale = Model.get('sale.sale')
    sale = Sale(party=customer, invoice_method='order')
    line = sale.lines.new()
    line.product = product
    line.quantity = 5
    sale.click('quote')
    sale.click('confirm')
    sale.reload()
    if sale.state == 'confirmed':
        # with queue workers configured (the PostgreSQL site) the queue
        # processes a confirmed sale: process it here
        sale.click('process')
        sale.reload()
    sale_invoice, = sale.invoices
    sale_invoice.invoice_date = fiscalyear.start_date
    sale_invoice.click('post')

    # a project with 2 invoiced hours at 20: invoice of 40, paid
    Work = Model.get('project.work')
    project = Work(name="Old Project", type='project', party=customer,
        project_invoice_method='timesheet', product=product,
        timesheet_available=True)
    project.save()
    TimesheetLine = Model.get('timesheet.line')
    timesheet = TimesheetLine(employee=employee,
        duration=dt.timedelta(hours=2), date=fiscalyear.start_date)
    timesheet.work, = project.timesheet_works
    timesheet.save()
    project.click('invoice')
    Invoice = Model.get('account.invoice')
    project_invoice, = Invoice.find([('id', '!=', sale_invoice.id)])
    project_invoice.invoice_date = fiscalyear.start_date
    project_invoice.click('post')
    Journal = Model.get('account.journal')
    journal_cash, = Journal.find([('type', '=', 'cash')])
    Method = Model.get('account.invoice.payment.method')
    method = Method(name="Cash", journal=journal_cash,
        credit_account=accounts['cash'], debit_account=accounts['cash'])
    method.save()
    pay = project_invoice.click('pay')
    pay.form.payment_method = method
    pay.form.date = fiscalyear.start_date
    pay.execute('choice')

    Model.get('web.user')(email='old@example.com', party=customer).save()

    RuleSet = Model.get('sale.subscription.recurrence.rule.set')
    monthly = RuleSet(name="Monthly")
    rule, = monthly.rules
    rule.freq = 'monthly'
    rule.interval = 1
    monthly.save()
    service = Model.get('sale.subscription.service')(product=product)
    service.save()
    Subscription = Model.get('sale.subscription')
    subscription = Subscription(party=customer,
        start_date=fiscalyear.start_date, invoice_recurrence=monthly)
    line = subscription.lines.new()
    line.service = service
    line.quantity = 1
    subscription.click('quote')
    subscription.click('run')
    return fiscalyear.start_date


def check(database):
    "Return the figures of the old data after the upgrade (child process)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=True):
        User = pool.get('res.user')
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        Work = pool.get('project.work')
        Status = pool.get('customer.status')
        admin, = User.search([('login', '=', 'admin')])
        company = admin.company
        with Transaction().set_user(admin.id), \
                Transaction().set_context(company=company.id):
            customer, = Party.search([('name', '=', "Old Customer")])
            invoices = Invoice.search([('type', '=', 'out')])
            project, = Work.search([('name', '=', "Old Project")])
            status = Status.get_status(customer, [company],
                dt.date.today() - dt.timedelta(days=800), dt.date.today())
            return {
                'invoices': len(invoices),
                'invoice_customers': sorted(
                    i.originating_customer.id for i in invoices
                    if i.originating_customer),
                'line_customers': sorted(
                    l.originating_customer.id for i in invoices
                    for l in i.lines if l.originating_customer),
                'lines': sum(len(i.lines) for i in invoices),
                'searched': Invoice.search_count([
                        ('originating_customers', '=', customer.id)]),
                'customer': customer.id,
                'stage': project.stage,
                'balance': str(status['balance']),
                }


class UpgradeTestCase(unittest.TestCase):
    "Activate the suite on a populated stock database"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        uri = support.database_uri()
        if support.is_postgresql(uri):
            reason = support.postgresql_unavailable(uri)
            if reason:
                raise unittest.SkipTest(reason)
        cls.site = support.Site(uri=uri)
        cls.addClassCleanup(cls.site.cleanup)
        prefix = os.environ.get('DB_NAME', 'test') if cls.site.postgresql \
            else 'upgrade'
        cls.database = f'{prefix}_upgrade_{os.getpid()}'
        cls.site.drop(cls.database)
        cls.addClassCleanup(cls.site.drop, cls.database)
        cls.site.build(cls.database, STOCK)
        support.run_python(cls.site, cls.database,
            'import tests.test_upgrade as t\n'
            't.populate(DATABASE, CONFIG_FILES)\n')
        cls.site.admin(cls.database, '-u', *SUITE, '--activate-dependencies')
        result = support.run_python(cls.site, cls.database,
            'import json, tests.test_upgrade as t\n'
            'print("RESULT" + json.dumps(t.check(DATABASE)))\n')
        output = result.stdout.decode()
        cls.figures = json.loads(output[output.index('RESULT') + 6:])

    def test_originating_customer(self):
        "The old invoices and their lines are the customer's"
        figures = self.figures
        customer = figures['customer']
        # the sale invoice and the project invoice, one line each
        self.assertEqual(figures['invoices'], 2)
        self.assertEqual(figures['invoice_customers'], [customer] * 2)
        self.assertEqual(figures['lines'], 2)
        self.assertEqual(figures['line_customers'], [customer] * 2)
        self.assertEqual(figures['searched'], 2)

    def test_project_stage(self):
        "A project with invoiced time is contracted"
        self.assertEqual(self.figures['stage'], 'contracted')

    def test_status_balance(self):
        "The status window reports the old ledger"
        # 100 of the sale invoice open, the 40 of the project invoice paid
        self.assertEqual(Decimal(self.figures['balance']), Decimal('100.00'))
