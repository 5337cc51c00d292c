"""party.replace and party.erase with every module of the suite activated

Merging two duplicate customers moves every record of the suite that links
the source party to the destination; erasing a party is refused while it
has open business with the suite and clears the personal data the suite
stores about it.
"""
import datetime as dt
import unittest
from decimal import Decimal
from email.message import EmailMessage

from trytond.model import ModelSQL
from trytond.modules.customer_status.tests.tools import (
    D, add_currency_rate, create_chart, create_company, create_currency,
    create_fiscalyears, create_invoice, set_company)
from trytond.modules.party.exceptions import EraseError
from trytond.modules.party.tests.test_module import PartyCheckReplaceMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from .test_suite_together import SUITE

MODULES = SUITE + ['sale_subscription', 'project_invoice']


def run_wizard(name, **ask):
    "Run the party wizard name with its ask values; return its end state"
    Wizard = Pool().get(name, type='wizard')
    session_id, _, _ = Wizard.create()
    wizard = Wizard(session_id)
    for key, value in ask.items():
        setattr(wizard.ask, key, value)
    return getattr(wizard, 'transition_' + name.split('.')[-1])()


def suite_party_links():
    """Return (model, field) of every stored link to party.party that a
    module of the suite defines on a table"""
    pool = Pool()
    links = set()
    for _, Model in pool.iterobject():
        if not issubclass(Model, ModelSQL) or callable(Model.table_query):
            continue
        for name, field in Model._fields.items():
            if (getattr(field, 'model_name', None) != 'party.party'
                    or field._type != 'many2one'):
                continue
            # the pool copies the fields on the classes it builds: the
            # module is the one of the first (base-most) class defining it
            owner = [c for c in Model.__mro__ if name in vars(c)
                and c.__module__.startswith('trytond.modules.')][-1]
            if owner.__module__.startswith('trytond.modules.customer_'):
                links.add((Model.__name__, name))
    return links


class PartyMergeEraseTestCase(PartyCheckReplaceMixin, unittest.TestCase):
    "Merge and erase parties holding records of the suite"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module(MODULES)
        cls.addClassCleanup(drop_db)

    @with_transaction()
    def test_every_link_replaced(self):
        "Every stored party link of the suite is in fields_to_replace"
        Replace = Pool().get('party.replace', type='wizard')
        links = suite_party_links()
        # the suite adds about two dozen: a regression to an empty set
        # (e.g. a broken introspection) must not pass
        self.assertGreaterEqual(len(links), 20)
        self.assertEqual(links - set(Replace.fields_to_replace()), set())

    def _setup(self):
        pool = Pool()
        Party = pool.get('party.party')
        usd = create_currency('USD')
        add_currency_rate(usd, 1)
        company = create_company('A', currency=usd)
        return Party, company

    def _profile(self, company):
        Profile = Pool().get('customer.billing.profile')
        profile, = Profile.create([{
                    'code': 'P', 'name': "Profile", 'company': company.id,
                    'grouping': 'account', 'cycle': 'immediate',
                    'channel': 'print', 'bill_to': 'customer',
                    }])
        return profile

    def _product(self):
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': "Service", 'type': 'service', 'salable': True,
                    'default_uom': unit.id, 'sale_uom': unit.id,
                    'list_price': Decimal(10),
                    'products': [('create', [{}])],
                    }])
        return template.products[0]

    @with_transaction()
    def test_merge(self):
        "Everything of the suite on the duplicate moves to the kept customer"
        pool = Pool()
        Account = pool.get('customer.account')
        Authorization = pool.get('customer.third_party.authorization')
        RiskClass = pool.get('customer.status.risk.class')
        Override = pool.get('customer.status.risk.override')
        Snapshot = pool.get('customer.status.snapshot')
        Reference = pool.get('customer.reference')
        ContactLog = pool.get('customer.contact_log')
        WebUser = pool.get('web.user')
        History = pool.get('customer.self_service.history')
        ManualItem = pool.get('customer.invoicing.manual_item')
        Run = pool.get('customer.invoicing.run')
        RunItem = pool.get('customer.invoicing.run.item')
        Invoice = pool.get('account.invoice')
        Party, company = self._setup()
        with set_company(company):
            create_chart(company)
            create_fiscalyears(company, [2025])
            # same name: no similarity warning
            source, destination, other, branch = Party.create([
                    {'name': "Dup", 'addresses': [('create', [{}])]},
                    {'name': "Dup", 'addresses': [('create', [{}])]},
                    {'name': "Other", 'addresses': [('create', [{}])]},
                    {'name': "Branch", 'addresses': [('create', [{}])]},
                    ])
            Party.write([branch], {'headquarter': source.id})
            profile = self._profile(company)
            account, = Account.create([{
                        'code': 'S1', 'party': source.id,
                        'profile': profile.id, 'company': company.id,
                        'state': 'active',
                        }])
            authorizations = Authorization.create([
                    {'customer': source.id, 'third_party': other.id},
                    {'customer': other.id, 'third_party': source.id},
                    ])
            risk_class, = RiskClass.create([{'code': 'R', 'name': "Risk"}])
            override, = Override.create([{
                        'party': source.id, 'risk_class': risk_class.id,
                        'reason': "Known", 'company': company.id}])
            reference, = Reference.create([{
                        'party': source.id, 'name': "Bank"}])
            log, = ContactLog.create([{
                        'party': source.id, 'company': company.id}])
            # 200 owed by the destination, 50 billed to another party for
            # the source as originating customer (stock Tryton refuses to
            # merge a party with posted move lines: the source has none)
            create_invoice(company, destination, D(2025, 3, 1),
                D(2025, 3, 31), 200)
            billed_for_branch = create_invoice(
                company, other, D(2025, 3, 1), D(2025, 3, 31), 50,
                originating_customer=source)
            Snapshot.refresh([source, destination], date=D(2025, 6, 30))
            self.assertEqual(Snapshot.search_count(
                    [('party', 'in', [source.id, destination.id])]), 2)
            user, = WebUser.create([{
                        'login': 'dup', 'email': 'dup@example.com',
                        'party': source.id}])
            Party.write([source], {
                    'css_login': 'dup', 'css_email': 'dup@example.com',
                    'css_status': 'registered', 'css_user': user.id,
                    'css_primary_account': account.id})
            History.create([{'party': source.id,
                        'date': dt.datetime(2025, 1, 1),
                        'to_status': 'registered'}])
            item, = ManualItem.create([{
                        'customer_account': account.id, 'party': source.id,
                        'product': self._product().id, 'quantity': 1,
                        'unit': pool.get('product.uom').search(
                            [('name', '=', 'Unit')])[0].id,
                        'unit_price': Decimal(10),
                        'currency': company.currency.id,
                        'date': D(2025, 3, 1)}])
            run, = Run.create([{'cutoff_date': D(2025, 3, 31),
                        'invoice_date': D(2025, 3, 31)}])
            run_item, = RunItem.create([{
                        'run': run.id, 'company': company.id,
                        'source': str(item), 'state': 'pending',
                        'party': source.id, 'invoice_party': source.id,
                        'currency': company.currency.id}])

            run_wizard('party.replace', source=source,
                destination=destination)

            for record, field in [
                    (account, 'party'), (branch, 'headquarter'),
                    (authorizations[0], 'customer'),
                    (authorizations[1], 'third_party'),
                    (override, 'party'), (reference, 'party'),
                    (log, 'party'), (item, 'party'), (run_item, 'party'),
                    (run_item, 'invoice_party'), (user, 'party'),
                    (billed_for_branch, 'originating_customer'),
                    (billed_for_branch.lines[0], 'originating_customer')]:
                # read from the database, not from the records' cache
                value, = record.__class__.read([record.id], [field])
                self.assertEqual(
                    value[field], destination.id, (record, field))
            self.assertEqual(History.search_count(
                    [('party', '=', source.id)]), 0)
            self.assertEqual(Invoice.search_count([
                        ('originating_customers', '=', source.id)]), 0)
            # one snapshot left, recomputed on the merged ledger: the
            # destination's 200 (before the merge the destination had its
            # own snapshot and the source one of 0)
            snapshot, = Snapshot.search(
                [('party', 'in', [source.id, destination.id])])
            self.assertEqual(snapshot.party, destination)
            self.assertEqual(snapshot.balance, Decimal('200.00'))
            # the portal access followed the customer
            fields_ = ['css_user', 'css_login', 'css_status',
                'css_primary_account']
            read = Party.read([destination.id, source.id], fields_)
            self.assertEqual(
                sorted(read, key=lambda v: v['id'] != destination.id), [
                    {'id': destination.id, 'css_user': user.id,
                        'css_login': 'dup', 'css_status': 'registered',
                        'css_primary_account': account.id},
                    {'id': source.id, 'css_user': None, 'css_login': None,
                        'css_status': 'not_requested',
                        'css_primary_account': None}])
            # both status changes are logged transitions
            Transaction()._store_log_records()
            self.assertEqual(
                [l.target for l in Party(destination.id).css_log],
                ['css_status:registered'])
            self.assertEqual(
                [l.target for l in Party(source.id).css_log],
                ['css_status:not_requested'])

    @with_transaction()
    def test_erase(self):
        "Open business blocks the erasure; personal data is cleared"
        pool = Pool()
        Account = pool.get('customer.account')
        Reference = pool.get('customer.reference')
        ContactLog = pool.get('customer.contact_log')
        Request = pool.get('party.change.request')
        WebUser = pool.get('web.user')
        Email = pool.get('ir.email')
        EmailAddress = pool.get('ir.email.address')
        Delivery = pool.get('customer.email.delivery')
        Party, company = self._setup()
        with set_company(company):
            party, = Party.create([{'name': "Gone", 'active': False}])
            account, = Account.create([{
                        'code': 'G1', 'party': party.id,
                        'profile': self._profile(company).id,
                        'company': company.id, 'state': 'active'}])
            reference, = Reference.create([{
                        'party': party.id, 'name': "Bank", 'phone': '123',
                        'email': 'ref@example.com', 'notes': "Private"}])
            log, = ContactLog.create([{
                        'party': party.id, 'company': company.id,
                        'contact': "Mrs Gone", 'notes': "Private"}])
            request, = Request.create([{
                        'kind': 'modify', 'party': party.id,
                        'company': company.id, 'name': "Gone Ltd",
                        'email': 'gone@example.com'}])
            user, = WebUser.create([{
                        'login': 'gone', 'email': 'gone@example.com',
                        'party': party.id}])
            Party.write([party], {
                    'css_login': 'gone', 'css_email': 'gone@example.com',
                    'css_status': 'registered', 'css_user': user.id})
            other, = Party.create([{'name': "Stays"}])
            # an email about each party, stored with its delivery (not sent)
            gone_email, = Delivery.create_message(
                self._message('gone@example.com'), party)
            kept_email, = Delivery.create_message(
                self._message('stays@example.com'), other)

            with self.assertRaisesRegex(EraseError, "customer accounts"):
                run_wizard('party.erase', party=party)
            Account.write([account], {'state': 'closed'})
            with self.assertRaisesRegex(EraseError, "change requests"):
                run_wizard('party.erase', party=party)
            Request.write([request], {'state': 'rejected'})
            with self.assertRaisesRegex(EraseError, "portal access"):
                run_wizard('party.erase', party=party)
            Party.css_disable([party])

            run_wizard('party.erase', party=party)

            # read from the database, not from the records' cache
            fields_ = ['css_login', 'css_email']
            self.assertEqual(Party.read([party.id], fields_)[0],
                {'id': party.id, 'css_login': None, 'css_email': None})
            fields_ = ['name', 'phone', 'email', 'notes']
            self.assertEqual(Reference.read([reference.id], fields_)[0],
                {'id': reference.id, 'name': '****', 'phone': None,
                    'email': None, 'notes': None})
            fields_ = ['contact', 'notes']
            self.assertEqual(ContactLog.read([log.id], fields_)[0],
                {'id': log.id, 'contact': None, 'notes': None})
            fields_ = ['name', 'email']
            self.assertEqual(Request.read([request.id], fields_)[0],
                {'id': request.id, 'name': None, 'email': None})
            # the email about the party is kept as a trace without its
            # addresses, subject and text; the other party's is untouched
            fields_ = ['recipients', 'subject', 'body', 'customer_message']
            self.assertEqual(Email.read([gone_email.email.id], fields_)[0],
                {'id': gone_email.email.id, 'recipients': None,
                    'subject': None, 'body': None, 'customer_message': None})
            self.assertEqual([a['address'] for a in EmailAddress.search_read(
                        [('email', '=', gone_email.email.id)], fields_names=[
                            'address'])], ['****'])
            self.assertEqual(Delivery.read([gone_email.id], ['address'])[0],
                {'id': gone_email.id, 'address': '****'})
            self.assertEqual(Email.read([kept_email.email.id], fields_)[0][
                    'recipients'], 'stays@example.com')
            self.assertEqual(Delivery.read([kept_email.id], ['address'])[0][
                    'address'], 'stays@example.com')

    @staticmethod
    def _message(to):
        message = EmailMessage()
        message['To'] = to
        message['Subject'] = "Your access"
        message.set_content("Hello " + to)
        return message
