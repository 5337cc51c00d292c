# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""Portal route tests: login, pages, downloads and tampering."""
import datetime
import re
from decimal import Decimal
from http import HTTPStatus
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from trytond import config
from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.customer_billing.edocument import ubl_schema
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.customer_self_service.tests.smtp_server import (
    SMTPServer)
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.tools import slugify
from trytond.transaction import Transaction, TransactionError

PASSWORD = 'Portal-Secret-42'


def pdf_text(content):
    "Return the text of the pages of the PDF content"
    from pypdf import PdfReader
    return '\n'.join(
        page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def create_customer_invoices(company, name, code, amounts):
    """Create a registered customer with an account and a portal user and post
    one invoice per (days before today, amount)"""
    pool = Pool()
    Party = pool.get('party.party')
    Profile = pool.get('customer.billing.profile')
    CustomerAccount = pool.get('customer.account')
    Invoice = pool.get('account.invoice')
    Account = pool.get('account.account')
    WebUser = pool.get('web.user')
    Type = pool.get('customer.self_service.type')

    revenue, = Account.search([
            ('type.revenue', '=', True), ('childs', '=', None),
            ('closed', '!=', True)], limit=1)
    profile, = Profile.search([], limit=1) or Profile.create([{
                'code': 'STD', 'name': "Standard", 'company': company.id}])
    party = Party(name=name, code=code,
        addresses=[{'street': "1 Main Street", 'city': "Springfield"}])
    party.credit_limit_amount = Decimal('1000.00')
    party.save()
    account = CustomerAccount(
        code='ACC-' + code, party=party, profile=profile, company=company)
    account.save()
    type_, = Type.search([('code', '=', 'standard')])
    user = WebUser(email=f'{code.lower()}@example.com',
        login=code.lower(), party=party, css_type=type_)
    user.save()
    with Transaction().set_context(css_self_password=True):
        WebUser.write([user], {'password': PASSWORD})
    Party.write([party], {
            'css_status': 'registered', 'css_user': user.id,
            'css_type': type_.id, 'css_primary_account': account.id,
            'css_login': code.lower(), 'css_email': user.email})
    today = datetime.date.today()
    invoices = []
    for days, amount in amounts:
        invoice = Invoice(type='out', party=party, company=company,
            currency=company.currency, customer_account=account,
            invoice_date=today - datetime.timedelta(days=days))
        # Without payment term, the due date is the payment term date
        invoice.payment_term_date = invoice.invoice_date
        invoice.on_change_type()
        invoice.on_change_party()
        invoice.lines = [{
                'account': revenue, 'description': "Service",
                'quantity': 1, 'unit_price': amount}]
        invoices.append(invoice)
    Invoice.save(invoices)
    with Transaction().set_context(_skip_warnings=True):
        Invoice.post(invoices)
    return party, user, invoices


def create_ledger(company):
    "Create the chart and a fiscal year with periods from 180 days ago"
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    create_chart(company)
    today = datetime.date.today()
    start = today - datetime.timedelta(days=180)
    fiscalyear = set_invoice_sequences(get_fiscalyear(company,
            today=today, start_date=start,
            end_date=start + datetime.timedelta(days=364)))
    fiscalyear.save()
    FiscalYear.create_period([fiscalyear])


class PortalTestMixin:
    "Set up the database of a RouteTestCase and use the portal"

    @classmethod
    def setUpClass(cls):
        # Like RouteTestCase but retrying on table lock requests
        super(test_tryton.RouteTestCase, cls).setUpClass()
        extras = {}
        while True:
            with Transaction().start(DB_NAME, 1, **extras) as transaction:
                try:
                    cls.setUpDatabase()
                except TransactionError as e:
                    transaction.rollback()
                    e.fix(extras)
                    continue
            break

    def url(self, path):
        return f'/{self.db_name}/customer_portal{path}'

    def assertPDFOf(self, content, number, party, amount):
        "Assert content is the PDF of the invoice of the number"
        self.assertTrue(content.startswith(b'%PDF-'), content[:100])
        text = pdf_text(content)
        self.assertIn(number, text)
        self.assertIn(party, text)
        self.assertIn(amount, text)

    def csrf(self, client, path='/login'):
        response = client.get(self.url(path))
        page = response.get_data(as_text=True)
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        self.assertTrue(match, page)
        return match.group(1)

    def login(self, client, login, password=PASSWORD):
        token = self.csrf(client)
        return client.post(self.url('/login'), data={
                'csrf': token, 'login': login, 'password': password})


class CustomerSelfServiceRouteTestCase(PortalTestMixin, RouteTestCase):
    "Test Customer Self Service portal routes"
    module = 'customer_self_service'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        company = create_company()
        with set_company(company):
            create_ledger(company)
            # Alpha: 100.00 due 30 days ago (overdue) + 50.00 due today
            # balance 150.00, overdue 100.00, credit 1000 - 150 = 850.00
            alpha, _, alpha_invoices = create_customer_invoices(
                company, "Alpha", 'ALPHA',
                [(30, Decimal('100.00')), (0, Decimal('50.00'))])
            beta, _, beta_invoices = create_customer_invoices(
                company, "Beta", 'BETA', [(0, Decimal('200.00'))])
            cls.alpha_id, cls.beta_id = alpha.id, beta.id
            cls.alpha_invoices = [i.id for i in alpha_invoices]
            cls.beta_invoice_number = beta_invoices[0].number
            cls.beta_invoice = beta_invoices[0].id
            cls.alpha_numbers = [i.number for i in alpha_invoices]
            # Delta has an invoice but no access yet
            delta, delta_user, delta_invoices = create_customer_invoices(
                company, "Delta", 'DELTA', [(0, Decimal('10.00'))])
            pool.get('party.party').write([delta], {
                    'css_status': 'not_requested', 'css_user': None,
                    'css_email': None, 'css_login': None})
            pool.get('web.user').delete([delta_user])
            cls.delta_id = delta.id
            cls.delta_invoice_number = delta_invoices[0].number

    def test_login_failures_reveal_nothing(self):
        "Wrong password and unknown login give the same answer"
        client = self.client()
        wrong = self.login(client, 'alpha', 'wrong-password')
        unknown = self.login(client, 'nobody', 'wrong-password')
        for response in [wrong, unknown]:
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
            self.assertIn('Wrong user id or password',
                response.get_data(as_text=True))
        self.assertNotIn('css_session', str(wrong.headers))

        # Without the CSRF token
        response = client.post(self.url('/login'), data={
                'login': 'beta', 'password': PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)

    def test_portal_pages(self):
        "Logged in user sees its own figures, invoices and nothing else"
        client = self.client()
        response = client.get(self.url('/'))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertTrue(response.location.endswith('/login'))

        response = self.login(client, 'ALPHA')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('HttpOnly', response.headers['Set-Cookie'])

        page = client.get(self.url('/')).get_data(as_text=True)
        self.assertIn('Alpha', page)
        self.assertNotIn('Beta', page)
        self.assertIn('150.00', re.search(
                r'class="num balance">([^<]*)<', page).group(1))
        self.assertIn('100.00', re.search(
                r'class="num overdue">([^<]*)<', page).group(1))
        self.assertIn('850.00', re.search(
                r'class="num credit">([^<]*)<', page).group(1))
        self.assertIn('ACC-ALPHA', page)

        page = client.get(self.url('/invoices')).get_data(as_text=True)
        for number in self.alpha_numbers:
            self.assertIn(f'<td>{number}</td>', page)
        self.assertNotIn(f'<td>{self.beta_invoice_number}</td>', page)
        self.assertEqual(page.count('class="invoice"'), 2)
        self.assertIn(f'invoices/{self.alpha_invoices[0]}/download', page)

        page = client.get(self.url('/pending')).get_data(as_text=True)
        self.assertEqual(page.count('class="invoice"'), 2)

        # The invoice report of its own invoice, as PDF
        response = client.get(
            self.url(f'/invoices/{self.alpha_invoices[0]}/download'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.mimetype, 'application/pdf')
        self.assertEqual(response.headers['Content-Disposition'],
            'attachment; filename="%s.pdf"' % slugify(
                'Invoice-' + self.alpha_numbers[0]))
        self.assertPDFOf(response.get_data(),
            self.alpha_numbers[0], "Alpha", "100.00")

        # Guessed and tampered ids are not found
        for invoice in [self.beta_invoice, 999999, 0]:
            response = client.get(self.url(f'/invoices/{invoice}/download'))
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        response = client.get(self.url('/invoices/-1/download'))
        self.assertIn(response.status_code,
            {HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED})

        page = client.get(self.url('/projects'))
        self.assertEqual(page.status_code, HTTPStatus.FORBIDDEN)

    def test_invoice_pdf_unavailable(self):
        "Without a working conversion the download answers a clear error"
        client = self.client()
        self.login(client, 'beta')
        previous = config.get('report', 'convert_command')
        config.set('report', 'convert_command',
            '/nonexistent/soffice --convert-to pdf %(input_path)s')
        try:
            response = client.get(
                self.url(f'/invoices/{self.beta_invoice}/download'))
        finally:
            if previous is None:
                # Back to Tryton's default command
                config._config.remove_option('report', 'convert_command')
                config._cache_clear()
            else:
                config.set('report', 'convert_command', previous)
        self.assertEqual(
            response.status_code, HTTPStatus.SERVICE_UNAVAILABLE,
            response.get_data(as_text=True))
        self.assertEqual(response.mimetype, 'text/html')
        self.assertIn(
            f'The PDF of invoice "{self.beta_invoice_number}" cannot be '
            'produced at the moment', response.get_data(as_text=True))

        # Another customer's invoice is still not found, PDF or not
        response = client.get(
            self.url(f'/invoices/{self.alpha_invoices[0]}/download'))
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        # Once the conversion works again, the PDF is served
        response = client.get(
            self.url(f'/invoices/{self.beta_invoice}/download'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertPDFOf(response.get_data(),
            self.beta_invoice_number, "Beta", "200.00")

    def test_invoice_edocument(self):
        "The e-invoice is offered next to the PDF, only the customer's own"
        with Transaction().start(DB_NAME, 1):
            pool = Pool()
            Account = pool.get('customer.account')
            Invoice = pool.get('account.invoice')
            account = Invoice(self.alpha_invoices[0]).customer_account
            Account.write([account], {'edocument_format': 'ubl'})
            Transaction().commit()
        try:
            client = self.client()
            self.login(client, 'alpha')
            page = client.get(self.url('/invoices')).get_data(as_text=True)
            self.assertIn(
                f'invoices/{self.alpha_invoices[0]}/einvoice', page)
            response = client.get(
                self.url(f'/invoices/{self.alpha_invoices[0]}/einvoice'))
            self.assertEqual(response.status_code, HTTPStatus.OK,
                response.get_data(as_text=True))
            self.assertEqual(response.mimetype, 'application/xml')
            ubl_schema('Invoice').assertValid(
                etree.fromstring(response.get_data()))
            self.assertIn(self.alpha_numbers[0].encode(), response.get_data())
            # another customer's invoice and a PDF-only one are not found
            for invoice in [self.beta_invoice, 999999]:
                response = client.get(
                    self.url(f'/invoices/{invoice}/einvoice'))
                self.assertEqual(
                    response.status_code, HTTPStatus.NOT_FOUND)
            client = self.client()
            self.login(client, 'beta')
            self.assertNotIn('/einvoice', client.get(
                    self.url('/invoices')).get_data(as_text=True))
            response = client.get(
                self.url(f'/invoices/{self.beta_invoice}/einvoice'))
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        finally:
            with Transaction().start(DB_NAME, 1):
                Account.write([Account(account.id)],
                    {'edocument_format': None})
                Transaction().commit()

    def test_session_tampering_and_logout(self):
        "A forged session is refused; logout ends the session"
        client = self.client()
        client.set_cookie(
            'css_session', 'f' * 64, path=f'/{self.db_name}/customer_portal')
        response = client.get(self.url('/invoices'))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

        response = self.login(client, 'beta@example.com')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER,
            response.get_data(as_text=True))
        self.assertTrue(response.location.endswith('/customer_portal/'))
        page = client.get(self.url('/invoices')).get_data(as_text=True)
        self.assertIn(f'<td>{self.beta_invoice_number}</td>', page)
        csrf = self.csrf(client, '/invoices')
        response = client.post(self.url('/logout'), data={'csrf': csrf})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = client.get(self.url('/invoices'))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_details_request(self):
        "Change my details creates a submitted change request"
        client = self.client()
        self.login(client, 'alpha')
        csrf = self.csrf(client, '/details')
        response = client.post(self.url('/details'), data={
                'csrf': csrf, 'name': 'Alpha', 'city': 'Shelbyville',
                'street': '1 Main Street', 'email': 'new@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn('sent to our staff', response.get_data(as_text=True))
        with Transaction().start(DB_NAME, 0):
            Request = Pool().get('party.change.request')
            request, = Request.search([('party', '=', self.alpha_id)])
            self.assertEqual(request.state, 'submitted')
            self.assertEqual(request.city, 'Shelbyville')
            self.assertEqual(request.email, 'new@example.com')

        # Forged form without token writes nothing
        response = client.post(self.url('/details'), data={
                'city': 'Capital City'})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)

    def test_request_access(self):
        "A request with an unknown address changes nothing; reveals nothing"
        pool = Pool(DB_NAME)
        client = self.client()
        with Transaction().start(DB_NAME, 0) as transaction:
            Party = pool.get('party.party')
            gamma = Party(name="Gamma", code='GAMMA')
            gamma.save()
            # Gamma may use the invoice of Beta's number: not its own
            transaction.commit()
        answers = []
        for code, number in [
                ('GAMMA', self.beta_invoice_number),
                ('NOPE', self.beta_invoice_number),
                ('BETA', self.beta_invoice_number),
                ('DELTA', self.beta_invoice_number),
                ('DELTA', self.delta_invoice_number)]:
            csrf = self.csrf(client, '/request-access')
            response = client.post(self.url('/request-access'), data={
                    'csrf': csrf, 'code': code, 'invoice': number,
                    'email': 'someone@example.com'})
            self.assertEqual(response.status_code, HTTPStatus.OK)
            answers.append(re.search(
                    r'id="info">([^<]*)<',
                    response.get_data(as_text=True)).group(1))
        self.assertEqual(len(set(answers)), 1)
        with Transaction().start(DB_NAME, 0):
            Party = pool.get('party.party')
            gamma, = Party.search([('code', '=', 'GAMMA')])
            beta = Party(self.beta_id)
            self.assertEqual(gamma.css_status, 'not_requested')
            # Beta is already registered: unchanged
            self.assertEqual(beta.css_status, 'registered')
            # Delta with its own invoice number but an address not on file
            # is unchanged: the address is never written (see
            # test_routes_security for an address on file)
            delta = Party(self.delta_id)
            self.assertEqual(delta.css_status, 'not_requested')
            self.assertIsNone(delta.css_email)
            self.assertEqual(delta.css_log, ())

    def test_set_password_token(self):
        "The emailed token sets the password once; a bad one is refused"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = pool.get('web.user')
            user, = WebUser.search([('login', '=', 'beta')])
            user.set_reset_password_token()
            user.save()
            url = user.get_email_reset_password_url()
            transaction.commit()
        self.assertIn('/customer_portal/set-password#', url)
        query = parse_qs(urlsplit(url).fragment)
        client = self.client()
        csrf = self.csrf(client, '/set-password')
        data = {'csrf': csrf, 'email': query['email'][0],
            'token': 'bad' + query['token'][0][3:],
            'password': 'New-Secret-77', 'confirm': 'New-Secret-77'}
        response = client.post(self.url('/set-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        data['token'] = query['token'][0]
        data['confirm'] = 'Other'
        response = client.post(self.url('/set-password'), data=data)
        self.assertIn('do not match', response.get_data(as_text=True))
        data['confirm'] = data['password']
        response = client.post(self.url('/set-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn('password is set', response.get_data(as_text=True))
        response = client.post(self.url('/set-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        response = self.login(client, 'beta', 'New-Secret-77')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = pool.get('web.user')
            user, = WebUser.search([('login', '=', 'beta')])
            WebUser.write([user], {'password': PASSWORD})
            transaction.commit()

    def create_alpha_user(self, login, **values):
        "Create another portal user of Alpha"
        pool = Pool()
        WebUser = pool.get('web.user')
        alpha = pool.get('party.party')(self.alpha_id)
        user, = WebUser.create([{
                    'email': f'{login}@example.com', 'login': login,
                    'party': alpha.id, 'css_type': alpha.css_type.id,
                    **values}])
        return user

    def test_set_password_link_expired(self):
        "An expired link sets nothing; the user still has no password"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 1) as transaction:
            # As created by Create User Record: no password, change required
            user = self.create_alpha_user(
                'alpha3', css_password_change=True)
            user.set_reset_password_token()
            user.reset_password_token_expire = (
                datetime.datetime.now() - datetime.timedelta(seconds=1))
            user.save()
            url = user.get_email_reset_password_url()
            transaction.commit()
        query = parse_qs(urlsplit(url).fragment)
        client = self.client()
        csrf = self.csrf(client, '/set-password')
        response = client.post(self.url('/set-password'), data={
                'csrf': csrf, 'email': query['email'][0],
                'token': query['token'][0],
                'password': 'New-Secret-77', 'confirm': 'New-Secret-77'})
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn('invalid or has expired',
            response.get_data(as_text=True))
        with Transaction().start(DB_NAME, 0):
            user, = pool.get('web.user').search([('login', '=', 'alpha3')])
            self.assertFalse(user.password_hash)
            self.assertTrue(user.css_password_change)
        response = self.login(client, 'alpha3', 'New-Secret-77')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_first_login_reset_and_rate_limit(self):
        "Staff set password must be changed; reset; login rate limit"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 1) as transaction:
            # A password set by the staff must be changed
            user = self.create_alpha_user('alpha2', password='Staff-Given-123')
            self.assertTrue(user.css_password_change)
            transaction.commit()
        client = self.client()
        response = self.login(client, 'alpha2', 'Staff-Given-123')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        # Every page, even a form post, leads to the password change
        for path in ['/', '/invoices',
                f'/invoices/{self.alpha_invoices[0]}/download', '/details']:
            response = client.get(self.url(path))
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
            self.assertTrue(response.location.endswith('/change-password'))
        csrf = self.csrf(client, '/change-password')
        response = client.post(self.url('/details'), data={
                'csrf': csrf, 'name': "Alpha", 'city': "Elsewhere"})
        self.assertTrue(response.location.endswith('/change-password'))
        data = {'csrf': csrf, 'current': 'wrong', 'password': 'Mine-12345',
            'confirm': 'Mine-12345'}
        response = client.post(self.url('/change-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn('current password is wrong',
            response.get_data(as_text=True))
        # Keeping the temporary password is not a change
        data.update(current='Staff-Given-123', password='Staff-Given-123',
            confirm='Staff-Given-123')
        response = client.post(self.url('/change-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn('must differ from the current one',
            response.get_data(as_text=True))
        response = client.get(self.url('/invoices'))
        self.assertTrue(response.location.endswith('/change-password'))
        data.update(password='Mine-12345', confirm='Mine-12345')
        response = client.post(self.url('/change-password'), data=data)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = client.get(self.url('/invoices'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        with Transaction().start(DB_NAME, 0):
            user, = pool.get('web.user').search([('login', '=', 'alpha2')])
            self.assertFalse(user.css_password_change)
            # The temporary password no longer matches
            self.assertFalse(pool.get('web.user').check_password(
                    'Staff-Given-123', user.password_hash)[0])

        # Reset answers the same for known and unknown logins
        smtp = SMTPServer()
        self.addCleanup(smtp.stop)
        answers = []
        for login in ['alpha2', 'unknown-login']:
            csrf = self.csrf(client, '/reset')
            response = client.post(self.url('/reset'), data={
                    'csrf': csrf, 'login': login})
            answers.append(response.get_data(as_text=True))
        self.assertEqual(answers[0], answers[1].replace(
                'unknown-login', 'alpha2'))
        message, = smtp.messages()
        self.assertEqual(message['To'], 'alpha2@example.com')
        self.assertIn('/customer_portal/set-password#email=',
            message.get_body(('html',)).get_content())
        with Transaction().start(DB_NAME, 0):
            user, = pool.get('web.user').search([('login', '=', 'alpha2')])
            self.assertEqual(len(user.reset_password_token), 64)

        # web_user's rate limit: over max_attempt failures, 429
        previous = config.get('session', 'max_attempt')
        config.set('session', 'max_attempt', '0')
        try:
            statuses = [self.login(client, 'alpha2', 'bad').status_code
                for _ in range(2)]
            # Even the right password is refused once limited
            statuses.append(self.login(client, 'alpha2', 'Mine-12345'
                    ).status_code)
        finally:
            config.set('session', 'max_attempt', previous or '5')
        self.assertEqual(statuses, [HTTPStatus.UNAUTHORIZED,
                HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.TOO_MANY_REQUESTS])


del RouteTestCase
