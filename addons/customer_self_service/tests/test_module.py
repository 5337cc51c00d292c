# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime as dt

from lxml import etree

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class CustomerSelfServiceTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Self Service module"
    module = 'customer_self_service'

    @with_transaction()
    def test_reset_token_hashed(self):
        "The reset token is stored hashed and accepted once in clear"
        pool = Pool()
        WebUser = pool.get('web.user')
        user = WebUser(email='user@example.com')
        user.save()
        user.set_reset_password_token()
        user.save()
        url = user.get_email_reset_password_url(url='http://portal/set')
        clear = dict(
            p.split('=', 1) for p in url.split('?')[1].split('&'))['token']

        stored = WebUser(user.id).reset_password_token
        self.assertEqual(len(stored), 64)
        self.assertNotEqual(stored, clear)
        self.assertNotIn(stored, url)
        # The digest itself is not a valid token
        self.assertFalse(WebUser.set_password_token(
                'user@example.com', stored, 'Secret-1234'))

        user.set_reset_password_token()
        user.save()
        url = user.get_email_reset_password_url(url='http://portal/set')
        clear = dict(
            p.split('=', 1) for p in url.split('?')[1].split('&'))['token']
        self.assertTrue(WebUser.set_password_token(
                'user@example.com', clear, 'Secret-1234'))
        user = WebUser(user.id)
        self.assertIsNone(user.reset_password_token)
        self.assertTrue(WebUser.check_password(
                'Secret-1234', user.password_hash)[0])
        self.assertFalse(user.css_password_change)
        # Used once
        self.assertFalse(WebUser.set_password_token(
                'user@example.com', clear, 'Other-1234'))

    @with_transaction()
    def test_party_css_validation(self):
        "Malformed CSS login and email are refused, login lowered"
        pool = Pool()
        Party = pool.get('party.party')
        party = Party(name="Customer")
        party.save()
        self.assertEqual(party.css_status, 'not_requested')

        for values in [{'css_email': 'not-an-email'},
                {'css_login': 'a b'}, {'css_login': 'x'}]:
            with self.subTest(values=values):
                with self.assertRaises(ValidationError):
                    Party.write([party], values)
        Party.write([party], {
                'css_login': ' Cust.One ', 'css_email': 'One@Example.COM'})
        self.assertEqual(party.css_login, 'cust.one')
        self.assertEqual(party.css_email, 'one@example.com')
        self.assertTrue(party.css_login_updated)

        other = Party(name="Other")
        other.save()
        with self.assertRaises(UserError):
            Party.write([other], {'css_login': 'cust.one'})

    @with_transaction()
    def test_status_guards(self):
        "Actions on a wrong status raise and write nothing"
        pool = Pool()
        Party = pool.get('party.party')
        Type = pool.get('customer.self_service.type')
        WebUser = pool.get('web.user')
        type_, = Type.search([('code', '=', 'standard')])
        party = Party(name="Customer", css_login='cust',
            css_email='cust@example.com', css_type=type_)
        party.save()

        with self.assertRaises(UserError):
            Party.css_create_user([party])
        with self.assertRaises(UserError):
            Party.css_disable([party])
        Party.css_request([party])
        self.assertEqual(party.css_status, 'requested')
        # The transition is logged (stored at commit)
        Transaction()._store_log_records()
        self.assertEqual(
            [(l.event, l.target) for l in party.css_log],
            [('transition', 'css_status:requested')])
        with self.assertRaises(UserError):
            Party.css_request([party])

        # A login used by another portal user: nothing written
        WebUser.create([{'email': 'other@example.com', 'login': 'cust'}])
        with self.assertRaises(UserError):
            Party.css_create_user([party])
        self.assertIsNone(party.css_user)
        self.assertEqual(WebUser.search([], count=True), 1)

    @with_transaction()
    def test_upgrade_history_to_log(self):
        "The upgrade copies the former history's status changes to the log"
        pool = Pool()
        Party = pool.get('party.party')
        History = pool.get('customer.self_service.history')
        Log = pool.get('ir.model.log')
        party = Party(name="Customer")
        party.save()
        History.create([{
                    'party': party.id, 'date': dt.datetime(2025, 1, 1, 9),
                    'from_status': 'not_requested', 'to_status': 'requested',
                    'user': 1}, {
                    'party': party.id, 'date': dt.datetime(2025, 1, 2, 9),
                    'from_status': 'requested', 'to_status': 'requested',
                    'comment': "The email could not be sent"}, {
                    'party': party.id, 'date': dt.datetime(2025, 1, 3, 9),
                    'from_status': 'requested', 'to_status': 'disabled',
                    'user': None}])

        Party._upgrade_css_history()
        # The two changes of status (the failed email from requested to
        # requested is not one), oldest last, with their date and user
        self.assertEqual(
            [(l.event, l.target, l.create_date, l.user and l.user.id)
                for l in party.css_log], [
                ('transition', 'css_status:disabled',
                    dt.datetime(2025, 1, 3, 9), None),
                ('transition', 'css_status:requested',
                    dt.datetime(2025, 1, 1, 9), 1)])
        self.assertEqual(party.css_log[0].action, "Self-Service Status : Disabled")
        # Once only: a second upgrade copies nothing
        Party._upgrade_css_history()
        self.assertEqual(Log.search_count(
                [('resource', '=', str(party))]), 2)
        # The former history is kept
        self.assertEqual(len(party.css_history), 3)

    @with_transaction()
    def test_portal_change_request_submitter(self):
        "A change proposed by the portal (root) shows the portal user"
        pool = Pool()
        Party = pool.get('party.party')
        WebUser = pool.get('web.user')
        Request = pool.get('party.change.request')
        company = create_company()
        with set_company(company):
            party, other = Party.create(
                [{'name': "Customer"}, {'name': "Other"}])
            user, = WebUser.create([{'email': 'cust@example.com',
                        'login': 'cust', 'party': party.id}])
            Party.write([party], {'css_user': user.id})
            self.assertIn('web.user', dict(Request.get_origins()))
            # the portal proposes as root (user 0) for the party of its user
            with Transaction().set_user(0):
                request = Request.propose_modification(
                    party, {'city': 'Namur'})
            self.assertEqual(request.origin, user)
            self.assertIsNone(request.submitted_by)
            self.assertEqual(request.submitter, user.rec_name)
            # no portal user: no origin is made up
            with Transaction().set_user(0):
                request = Request.propose_modification(
                    other, {'city': 'Namur'})
            self.assertIsNone(request.origin)
            self.assertIsNone(request.submitter)

    @with_transaction()
    def test_tree_views_datetime(self):
        "The list views show date and time fields as date and time columns"
        # sao has no list column for a datetime or timestamp field without
        # widget: the form holding such a list does not open
        pool = Pool()
        View = pool.get('ir.ui.view')
        for view in View.search([
                    ('module', '=', self.module), ('type', '=', 'tree')]):
            Model = pool.get(view.model)
            for field in etree.fromstring(view.arch).iter('field'):
                with self.subTest(view=view.name, field=field.get('name')):
                    type_ = Model._fields[field.get('name')]._type
                    if type_ in {'datetime', 'timestamp'}:
                        self.assertIn(field.get('widget'), {'date', 'time'})


del ModuleTestCase
