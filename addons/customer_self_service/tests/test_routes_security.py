# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""Portal hardening through HTTP: emailed links, sessions, rate limits,
tokens, cookies, crafted input (a Hypothesis fuzz of every route) and the
figures shared with the customer status window."""
import datetime
import html
import re
from decimal import Decimal
from http import HTTPStatus
from unittest import mock
from urllib.parse import parse_qs, quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from trytond import config
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.customer_self_service.middleware import HTTPErrors
from trytond.modules.customer_self_service.tests.smtp_server import (
    SMTPServer)
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.res.user import PASSWORD_HASH
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction
from trytond.url import HOSTNAME
from trytond.wsgi import NumProxyFix, app

from . import test_routes as portal

PASSWORD = portal.PASSWORD


def set_config(test, section, option, value):
    "Set the configuration option for the test only"
    previous = config.get(section, option)
    if not config._config.has_section(section):
        config._config.add_section(section)
    config.set(section, option, value)

    def restore():
        if previous is None:
            config._config.remove_option(section, option)
            config._cache_clear()
        else:
            config.set(section, option, previous)
    test.addCleanup(restore)


def create_payment(company, party, amount, date):
    "Post a payment of the party received at date: no maturity date"
    pool = Pool()
    Move = pool.get('account.move')
    Journal = pool.get('account.journal')
    Period = pool.get('account.period')
    Account = pool.get('account.account')
    cash, = Account.search([
            ('type.receivable', '=', False), ('type.payable', '=', False),
            ('type.revenue', '=', False), ('type.expense', '=', False),
            ('childs', '=', None), ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', company.id)], limit=1)
    journal, = Journal.search([('type', '=', 'cash')], limit=1)
    move = Move(journal=journal, date=date,
        period=Period.find(company, date=date), company=company, lines=[{
                'account': party.account_receivable_used.id,
                'party': party.id, 'credit': amount, 'debit': 0}, {
                'account': cash.id, 'debit': amount, 'credit': 0}])
    move.save()
    Move.post([move])
    return move


class AddressClient(Client):
    "A test client whose requests come from 127.0.0.1"

    def open(self, *args, **kwargs):
        kwargs.setdefault('environ_base', {'REMOTE_ADDR': '127.0.0.1'})
        return super().open(*args, **kwargs)


class CustomerSelfServiceSecurityTestCase(
        portal.PortalTestMixin, RouteTestCase):
    "Test the hardening of the Customer Self Service portal"
    module = 'customer_self_service'
    extras = ['customer_project']

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Work = pool.get('project.work')
        company = create_company()
        today = datetime.date.today()
        with set_company(company):
            portal.create_ledger(company)
            alpha, _, invoices = portal.create_customer_invoices(
                company, "Alpha", 'ALPHA',
                [(30, Decimal('100.00')), (0, Decimal('50.00'))])
            create_payment(company, alpha, Decimal('30.00'),
                today - datetime.timedelta(days=1))
            portal.create_customer_invoices(company, "Beta", 'BETA', [])
            project = Work(name="Alpha project", type='project', party=alpha,
                company=company)
            project.save()
            Type = pool.get('customer.self_service.type')
            Type.write(Type.search([('code', '=', 'standard')]), {
                    'portal_projects': True, 'portal_service_units': True})
            # Delta has an invoice, an email on file and no access yet
            delta, delta_user, delta_invoices = (
                portal.create_customer_invoices(
                    company, "Delta", 'DELTA', [(0, Decimal('10.00'))]))
            Party.write([delta], {
                    'css_status': 'not_requested', 'css_user': None,
                    'css_email': None, 'css_login': None,
                    'contact_mechanisms': [('create', [{
                                    'type': 'email',
                                    'value': 'accounts@delta.example'}])]})
            pool.get('web.user').delete([delta_user])
            cls.company_id = company.id
            cls.alpha_id, cls.delta_id = alpha.id, delta.id
            cls.project_id = project.id
            cls.alpha_invoices = [i.id for i in invoices]
            cls.delta_number = delta_invoices[0].number

    def setUp(self):
        super().setUp()
        # Every test starts without failed attempts nor sessions
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            for name in ['web.user.authenticate.attempt', 'web.user.session',
                    'web.user.device']:
                Model = pool.get(name)
                Model.delete(Model.search([]))
            transaction.commit()

    def client(self):
        return AddressClient(app, Response)

    def post(self, client, path, data, csrf_path=None, **kwargs):
        "Post the form with the CSRF token of the page"
        page = client.get(self.url(csrf_path or path),
            headers=kwargs.get('headers')).get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        return client.post(
            self.url(path), data={'csrf': csrf, **data}, **kwargs)

    def proxied_client(self):
        "A client of trytond behind one proxy ([web] num_proxies = 1)"
        return AddressClient(NumProxyFix(app, 1), Response)

    def reset_link(self, client, login, **kwargs):
        "Ask a reset for the login and return the link of the email"
        smtp = SMTPServer()
        self.addCleanup(smtp.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = Pool().get('web.user')
            user, = WebUser.search([('login', '=', login)])
            WebUser.write([user], {'reset_password_token_expire': None})
            transaction.commit()
        response = self.post(client, '/reset', {'login': login}, **kwargs)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        message, = smtp.messages()
        link, = re.findall(r'href="(https?://[^"]+/set-password[^"]*)"',
            message.get_body(('html',)).get_content())
        return html.unescape(link)

    def web_user(self, login):
        return Pool().get('web.user').search([('login', '=', login)])[0]

    def test_reset_link_from_configuration(self):
        "The emailed link never comes from the Host header"
        client = self.client()
        link = self.reset_link(client, 'alpha',
            headers={'Host': 'evil.example'})
        self.assertNotIn('evil.example', link)
        self.assertTrue(link.startswith(f'http://{HOSTNAME}/'
                f'{quote(self.db_name)}/customer_portal/set-password#'), link)

        set_config(self, 'customer_self_service', 'portal_url',
            'https://portal.example.com/')
        link = self.reset_link(client, 'alpha',
            headers={'Host': 'evil.example'})
        self.assertTrue(
            link.startswith('https://portal.example.com/set-password#'), link)

    def test_token_posted_not_in_url(self):
        "The token is in the fragment, posted by the form, never echoed"
        client = self.client()
        link = self.reset_link(client, 'alpha')
        parts = urlsplit(link)
        self.assertEqual(parts.query, '')
        fragment = parse_qs(parts.fragment)
        self.assertEqual(fragment['email'], ['alpha@example.com'])
        token, = fragment['token']
        # A token in the query string is neither used nor rendered
        page = client.get(self.url('/set-password?token=' + token)
            ).get_data(as_text=True)
        self.assertNotIn(token, page)
        self.assertIn('nonce-', client.get(self.url('/set-password')
                ).headers['Content-Security-Policy'])
        response = self.post(client, '/set-password', {
                'email': 'alpha@example.com', 'token': token,
                'password': 'Fresh-Secret-91', 'confirm': 'Fresh-Secret-91'})
        self.assertEqual(response.status_code, HTTPStatus.OK,
            response.get_data(as_text=True))
        self.addCleanup(self.set_password, 'alpha', PASSWORD)
        self.assertEqual(self.login(client, 'alpha', 'Fresh-Secret-91'
                ).status_code, HTTPStatus.SEE_OTHER)

    def set_password(self, login, password, temporary=False):
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = Pool().get('web.user')
            with Transaction().set_context(css_self_password=not temporary):
                WebUser.write([self.web_user(login)], {'password': password})
            transaction.commit()

    def test_sessions_revoked(self):
        "Password change, reset and deactivation end the other sessions"
        browser, other = self.client(), self.client()
        for client in [browser, other]:
            self.assertEqual(self.login(client, 'alpha').status_code,
                HTTPStatus.SEE_OTHER)
        self.addCleanup(self.set_password, 'alpha', PASSWORD)
        response = self.post(browser, '/change-password', {
                'current': PASSWORD, 'password': 'Changed-Secret-55',
                'confirm': 'Changed-Secret-55'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        # The browser that changed it goes on in a new session
        self.assertEqual(browser.get(self.url('/invoices')).status_code,
            HTTPStatus.OK)
        self.assertEqual(other.get(self.url('/invoices')).status_code,
            HTTPStatus.SEE_OTHER)

        # A reset through the link
        link = self.reset_link(other, 'alpha')
        token, = parse_qs(urlsplit(link).fragment)['token']
        response = self.post(other, '/set-password', {
                'email': 'alpha@example.com', 'token': token,
                'password': 'Reset-Secret-66', 'confirm': 'Reset-Secret-66'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(browser.get(self.url('/invoices')).status_code,
            HTTPStatus.SEE_OTHER)

        # Deactivation
        self.login(other, 'alpha', 'Reset-Secret-66')
        self.assertEqual(other.get(self.url('/invoices')).status_code,
            HTTPStatus.OK)
        self.set_active('alpha', False)
        self.addCleanup(self.set_active, 'alpha', True)
        self.assertEqual(other.get(self.url('/invoices')).status_code,
            HTTPStatus.SEE_OTHER)

    def set_active(self, login, active):
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = Pool().get('web.user')
            user, = WebUser.search([
                    ('login', '=', login), ('active', 'in', [True, False])])
            WebUser.write([user], {'active': active})
            transaction.commit()

    def test_set_password_without_token(self):
        "No token: the same answer for known and unknown emails, counted"
        client = self.client()
        answers = []
        for email in ['alpha@example.com', 'nobody@example.com']:
            response = self.post(client, '/set-password', {
                    'email': email, 'password': 'Some-Secret-12',
                    'confirm': 'Some-Secret-12'})
            answers.append((response.status_code, re.search(
                        r'id="error">([^<]*)<',
                        response.get_data(as_text=True)).group(1)))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0], HTTPStatus.BAD_REQUEST)
        with Transaction().start(DB_NAME, 0):
            Attempt = Pool().get('web.user.authenticate.attempt')
            self.assertEqual(Attempt.count('css-set:alpha@example.com'), 1)
            self.assertEqual(Attempt.count('css-set:nobody@example.com'), 1)

        # Counted: after the free failures, the email must wait
        set_config(self, 'session', 'max_attempt', '1')
        response = self.post(client, '/set-password', {
                'email': 'alpha@example.com', 'token': 'x' * 32,
                'password': 'Some-Secret-12', 'confirm': 'Some-Secret-12'})
        self.assertEqual(response.status_code, HTTPStatus.TOO_MANY_REQUESTS)

    def backdate_attempts(self, seconds):
        with Transaction().start(DB_NAME, 0) as transaction:
            table = Pool().get('web.user.authenticate.attempt').__table__()
            cursor = transaction.connection.cursor()
            cursor.execute(*table.update([table.create_date],
                    [datetime.datetime.now()
                        - datetime.timedelta(seconds=seconds)]))
            transaction.commit()

    def test_login_backoff(self):
        "Wrong passwords slow the login down without an hour's lockout"
        client = self.client()
        # max_attempt (5) free failures, then each waits 2, 4 ... s
        statuses = [self.login(client, 'alpha', 'wrong').status_code
            for _ in range(6)]
        self.assertEqual(statuses,
            [HTTPStatus.UNAUTHORIZED] * 5 + [HTTPStatus.TOO_MANY_REQUESTS])
        # While waiting, even the right password is refused
        self.assertEqual(self.login(client, 'alpha').status_code,
            HTTPStatus.TOO_MANY_REQUESTS)
        # Another customer from the same address is not locked out
        self.assertEqual(self.login(self.client(), 'beta').status_code,
            HTTPStatus.SEE_OTHER)
        # Ten minutes later (not an hour): the customer logs in
        self.backdate_attempts(600)
        self.assertEqual(self.login(client, 'alpha').status_code,
            HTTPStatus.SEE_OTHER)

    def test_login_device_cookie(self):
        "An attacker's failures for a login do not slow its owner's browser"
        def device_cookie(response):
            cookie, = [c for c in response.headers.getlist('Set-Cookie')
                if c.startswith('css_device=')]
            self.assertIn('HttpOnly', cookie)
            return (re.match(r'css_device=([0-9a-f]{64});', cookie).group(1),
                re.search(r'Path=([^;]+)', cookie).group(1))
        victim = self.client()
        response = self.login(victim, 'alpha')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        first, path = device_cookie(response)
        # the attacker fails from another browser (max_attempt free ones)
        attacker = self.client()
        statuses = [self.login(attacker, 'alpha', 'wrong').status_code
            for _ in range(6)]
        self.assertEqual(statuses,
            [HTTPStatus.UNAUTHORIZED] * 5 + [HTTPStatus.TOO_MANY_REQUESTS])
        self.assertEqual(self.login(attacker, 'alpha').status_code,
            HTTPStatus.TOO_MANY_REQUESTS)
        # the victim's browser logs in at once and gets a new cookie
        response = self.login(victim, 'alpha')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        second, _ = device_cookie(response)
        self.assertNotEqual(second, first)
        # the replaced cookie and a forged one are no device of alpha
        for cookie in [first, '0' * 64]:
            replay = self.client()
            replay.set_cookie('css_device', cookie, path=path)
            with self.subTest(cookie=cookie):
                self.assertEqual(self.login(replay, 'alpha').status_code,
                    HTTPStatus.TOO_MANY_REQUESTS)
        # alpha's cookie does not exempt another login
        for _ in range(6):
            self.login(attacker, 'beta', 'wrong')
        self.assertEqual(self.login(victim, 'beta').status_code,
            HTTPStatus.TOO_MANY_REQUESTS)
        # the failures that come with the cookie slow that browser down
        statuses = [self.login(victim, 'alpha', 'wrong').status_code
            for _ in range(6)]
        self.assertEqual(statuses,
            [HTTPStatus.UNAUTHORIZED] * 5 + [HTTPStatus.TOO_MANY_REQUESTS])

    def test_login_timing_path(self):
        "An unknown login verifies a hash like a known one"
        verify = mock.patch.object(PASSWORD_HASH, 'verify_and_update',
            wraps=PASSWORD_HASH.verify_and_update)
        client = self.client()
        for login in ['alpha', 'nobody']:
            with verify as verified:
                response = self.login(client, login, 'wrong')
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
            self.assertEqual(verified.call_count, 1, login)
            _, hash_ = verified.call_args.args
            self.assertTrue(hash_.startswith('$argon2'), hash_)

    def test_client_address_from_proxies(self):
        "X-Forwarded-For counts only behind configured proxies"
        spoofed = {'X-Forwarded-For': '203.0.113.7'}
        self.login(self.client(), 'alpha', 'wrong', headers=spoofed)
        self.login(self.proxied_client(), 'beta', 'wrong', headers=spoofed)
        with Transaction().start(DB_NAME, 0):
            Attempt = Pool().get('web.user.authenticate.attempt')
            addresses = {a.login: a.ip_address for a in Attempt.search([])}
        self.assertEqual(addresses, {
                'css-login:alpha@example.com': '127.0.0.1',
                'css-login:beta@example.com': '203.0.113.7'})

    def login(self, client, login, password=PASSWORD, headers=None):
        token = self.csrf(client)
        return client.post(self.url('/login'), headers=headers, data={
                'csrf': token, 'login': login, 'password': password})

    def test_secure_cookie(self):
        "Secure behind a TLS proxy or with an HTTPS portal URL"
        def session_cookie(response):
            return [c for c in response.headers.getlist('Set-Cookie')
                if c.startswith('css_session=')][0]
        response = self.login(self.client(), 'alpha')
        self.assertNotIn('Secure', session_cookie(response))
        response = self.login(self.proxied_client(), 'alpha',
            headers={'X-Forwarded-Proto': 'https'})
        self.assertIn('Secure', session_cookie(response))
        set_config(self, 'customer_self_service', 'portal_url',
            'https://portal.example.com/')
        response = self.login(self.client(), 'alpha')
        self.assertIn('Secure', session_cookie(response))

    def test_temporary_password_refused(self):
        "The password the staff gave cannot be chosen again by a reset"
        self.set_password('alpha', 'Staff-Given-321', temporary=True)
        self.addCleanup(self.set_password, 'alpha', PASSWORD)
        client = self.client()
        link = self.reset_link(client, 'alpha')
        token, = parse_qs(urlsplit(link).fragment)['token']
        data = {'email': 'alpha@example.com', 'token': token,
            'password': 'Staff-Given-321', 'confirm': 'Staff-Given-321'}
        response = self.post(client, '/set-password', data)
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn('not the one you were given',
            response.get_data(as_text=True))
        # The token is still valid for a password of its own
        data.update(password='My-Own-Secret-8', confirm='My-Own-Secret-8')
        response = self.post(client, '/set-password', data)
        self.assertEqual(response.status_code, HTTPStatus.OK)

    def test_request_access_writes_no_address(self):
        "Only an address already on file lets a request through"
        client = self.client()
        answers = []
        for email in ['attacker@evil.example', 'accounts@delta.example']:
            response = self.post(client, '/request-access', {
                    'code': 'DELTA', 'invoice': self.delta_number,
                    'email': email})
            self.assertEqual(response.status_code, HTTPStatus.OK)
            answers.append(re.search(r'id="info">([^<]*)<',
                    response.get_data(as_text=True)).group(1))
            with Transaction().start(DB_NAME, 0):
                delta = Pool().get('party.party')(self.delta_id)
                state = (delta.css_status, delta.css_email)
            if email.startswith('attacker'):
                self.assertEqual(state, ('not_requested', None))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(state, ('requested', 'accounts@delta.example'))
        with Transaction().start(DB_NAME, 0) as transaction:
            Party = Pool().get('party.party')
            Party.write([Party(self.delta_id)], {
                    'css_status': 'not_requested', 'css_email': None})
            transaction.commit()

    def test_details_validation_and_throttle(self):
        "My details refuses an empty name, an invalid email; throttled"
        client = self.client()
        self.login(client, 'alpha')
        base = {'name': 'Alpha', 'street': '1 Main Street',
            'city': 'Springfield'}
        for values, text in [
                ({'name': ''}, 'The name cannot be empty'),
                ({'email': 'not an email'}, 'is not valid')]:
            response = self.post(client, '/details', {**base, **values})
            self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
            self.assertIn(text, response.get_data(as_text=True))
        # One free request, the next waits 2 s after it
        set_config(self, 'session', 'max_attempt', '1')
        statuses = [self.post(client, '/details', {
                    **base, 'city': city}).status_code
            for city in ['One', 'Two']]
        self.assertEqual(statuses, [HTTPStatus.OK,
                HTTPStatus.TOO_MANY_REQUESTS])
        self.backdate_attempts(60)
        self.assertEqual(self.post(client, '/details', {
                    **base, 'city': 'Three'}).status_code, HTTPStatus.OK)
        with Transaction().start(DB_NAME, 0):
            Request = Pool().get('party.change.request')
            requests = Request.search([('party', '=', self.alpha_id)])
            self.assertEqual({r.city for r in requests}, {'One', 'Three'})

    def test_crafted_input(self):
        "Crafted input gives a 4xx page with a translated message"
        client = self.client()
        self.login(client, 'alpha')
        for path in ['/service-units?project=²',
                '/service-units?project=99999999999999999999',
                '/invoices/99999999999999999999/download',
                '/invoices/%C2%B2/download']:
            response = client.get(self.url(path))
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND, path)
            self.assertIn('does not exist or is not yours',
                response.get_data(as_text=True))
        # trytond refuses a foreign Origin before any route: through the
        # middleware of [wsgi middleware] the server answers 403, not 500
        protected = AddressClient(HTTPErrors(app), Response)
        response = protected.get(self.url('/'),
            headers={'Origin': 'https://evil.example'})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        # Missing fields
        for path, status in [('/login', HTTPStatus.UNAUTHORIZED),
                ('/set-password', HTTPStatus.BAD_REQUEST),
                ('/change-password', HTTPStatus.BAD_REQUEST),
                ('/details', HTTPStatus.BAD_REQUEST)]:
            response = self.post(client, path, {}, csrf_path='/details')
            self.assertEqual(response.status_code, status, path)
            self.assertIn('id="error"', response.get_data(as_text=True))

    paths = ['/login', '/logout', '/set-password', '/reset',
        '/request-access', '/change-password', '/', '/invoices', '/pending',
        '/invoices/{id}/download', '/projects', '/service-units?project={id}',
        '/details']
    fields = ['login', 'password', 'confirm', 'current', 'email', 'token',
        'code', 'invoice', 'name', 'phone', 'street', 'postal_code', 'city',
        'tax_identifier']
    ids = st.one_of(
        st.integers(min_value=-2 ** 70, max_value=2 ** 70).map(str),
        st.text(st.characters(categories=['Nd', 'No']), min_size=1),
        st.text(min_size=1))

    # Derandomized and without example database: the same 150 requests each
    # run, nothing written in the working directory
    @settings(max_examples=150, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(paths),
        method=st.sampled_from(['GET', 'POST']), id_=ids,
        logged=st.booleans(), csrf=st.booleans(),
        form=st.dictionaries(st.sampled_from(fields), st.text(max_size=300)))
    def test_fuzz_routes(self, path, method, id_, logged, csrf, form):
        "No crafted request to any portal route answers 500"
        if id_ in {str(i) for i in self.alpha_invoices}:
            # Not the PDF conversion of a real invoice
            id_ = '0'
        client = self.client()
        if logged:
            self.login(client, 'beta')
        if csrf:
            form['csrf'] = self.csrf(client, '/reset')
        url = self.url(path.replace('{id}', quote(id_, safe='')))
        response = client.open(url, method=method, data=form)
        self.assertLess(response.status_code, 500, (url, form))
        if response.status_code >= 400 and response.status_code not in {
                HTTPStatus.METHOD_NOT_ALLOWED}:
            self.assertIn('id="error"', response.get_data(as_text=True),
                (url, form))

    def test_figures_as_status_window(self):
        "The portal's balance and overdue are the status window's"
        pool = Pool(DB_NAME)
        client = self.client()
        self.login(client, 'alpha')
        page = client.get(self.url('/')).get_data(as_text=True)
        portal_figures = [re.search(rf'class="num {n}">([^<]*)<', page
                ).group(1) for n in ['balance', 'overdue']]
        today = datetime.date.today()
        with Transaction().start(DB_NAME, 0):
            Status = pool.get('customer.status')
            Company = pool.get('company.company')
            figures = Status.get_figures([self.alpha_id],
                [Company(self.company_id)],
                today - datetime.timedelta(days=365), today)[self.alpha_id]
        # Balance 100 + 50 - 30 = 120; overdue: the 100 due 30 days ago and
        # the payment of yesterday without maturity date (its move date
        # counts): 100 - 30 = 70 (the 50 due today is not overdue)
        self.assertEqual(
            (figures['balance'], figures['overdue']),
            (Decimal('120.00'), Decimal('70.00')))
        self.assertIn('120.00', portal_figures[0])
        self.assertIn('70.00', portal_figures[1])


del RouteTestCase
