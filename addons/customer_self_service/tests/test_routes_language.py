# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""The portal and the emails in the recipient's language: party language,
browser's Accept-Language, the language switch, error pages (also the ones
trytond answers before any route) and emails in French through a real SMTP
server on loopback."""
import re
from decimal import Decimal
from http import HTTPStatus

from trytond import sendmail
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.customer_self_service.middleware import HTTPErrors
from trytond.modules.customer_self_service.tests.smtp_server import (
    SMTPServer)
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import test_routes as portal
from .test_routes_security import AddressClient


class CustomerSelfServiceLanguageTestCase(
        portal.PortalTestMixin, RouteTestCase):
    "Test the languages of the Customer Self Service portal and its emails"
    module = 'customer_self_service'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        # Tryton's Load Translations: the modules' locale/*.po
        Lang.load_translations(Lang.search([('code', 'in', ['fr', 'pt'])]))
        pt, = Lang.search([('code', '=', 'pt')])
        company = create_company()
        with set_company(company):
            portal.create_ledger(company)
            # Alpha, in Portuguese: one invoice of 1234.50 due today, so its
            # balance is 1.234,50 (pt: '.' groups the thousands of amounts,
            # ',' before the cents) and its credit 1000 - 1234.50 = -234,50
            alpha, _, invoices = portal.create_customer_invoices(
                company, "Alpha", 'ALPHA', [(0, Decimal('1234.50'))])
            Party.write([alpha], {'lang': pt.id})
            cls.invoice_date = invoices[0].invoice_date
            cls.invoice_number = invoices[0].number
            # Beta has no language: the browser's or the switch's
            portal.create_customer_invoices(company, "Beta", 'BETA', [])

    def page(self, response, status=HTTPStatus.OK):
        self.assertEqual(response.status_code, status)
        return response.get_data(as_text=True)

    def test_party_language(self):
        "A Portuguese customer sees the portal in Portuguese"
        client = self.client()
        self.login(client, 'alpha')
        page = self.page(client.get(self.url('/')))
        self.assertIn('<html lang="pt">', page)
        self.assertIn('<title>Minha conta - Portal do cliente</title>', page)
        self.assertIn('<th>Saldo</th>', page)
        self.assertIn('<th>Vencido</th>', page)
        self.assertIn('Sair (alpha)', page)
        self.assertIn('1.234,50', re.search(
                r'class="num balance">([^<]*)<', page).group(1))
        self.assertRegex(re.search(
                r'class="num credit">([^<]*)<', page).group(1), r'^-.*234,50$')
        # The switch offers the other languages, each in its own name
        self.assertIn('<strong lang="pt" id="lang-pt">', page)
        self.assertIn('href="?lang=fr"', page)
        self.assertIn('href="?lang=en"', page)

        # Dates in the language's order (pt: %d-%m-%Y)
        page = self.page(client.get(self.url('/pending')))
        self.assertIn('<h1>Faturas pendentes</h1>', page)
        self.assertIn('<th>Vencimento</th>', page)
        date = self.invoice_date.strftime('%d-%m-%Y')
        self.assertEqual(page.count(f'<td>{date}</td>'), 1)
        self.assertEqual(
            page.count(f'<td class="opt">{date}</td>'), 1)

        # The error pages too
        page = self.page(client.get(self.url('/invoices/999999/download')),
            HTTPStatus.NOT_FOUND)
        self.assertIn('<h1>Página não encontrada</h1>', page)
        self.assertIn('A página solicitada não existe ou não é sua.', page)
        self.assertIn('Voltar ao portal', page)

    def test_browser_language_and_switch(self):
        "Accept-Language chooses the language until the switch does"
        client = self.client()
        french = {'Accept-Language': 'fr-BE,fr;q=0.9,en;q=0.5'}
        page = self.page(client.get(self.url('/login'), headers=french))
        self.assertIn('<html lang="fr">', page)
        self.assertIn('<label for="login">Identifiant ou courriel</label>',
            page)
        self.assertIn('Mot de passe oublié ?', page)
        self.assertNotIn('css_lang', page)

        # The switch: kept by a cookie, over the browser's language
        response = client.get(self.url('/login?lang=pt'), headers=french)
        page = self.page(response)
        self.assertIn('<html lang="pt">', page)
        self.assertIn('Esqueceu sua senha?', page)
        self.assertIn('css_lang=pt', response.headers['Set-Cookie'])
        page = self.page(client.get(self.url('/reset'), headers=french))
        self.assertIn('<h1>Senha esquecida</h1>', page)
        self.assertIn('<button type="submit" id="submit">Enviar-me um link'
            '</button>', page)

        # A message of a failed form
        response = self.login(client, 'beta', 'wrong-password')
        self.assertIn('ID de usuário ou senha incorretos.',
            self.page(response, HTTPStatus.UNAUTHORIZED))

        # Logged in: the choice goes over the party language (none here)
        self.login(client, 'beta')
        page = self.page(client.get(self.url('/details'), headers=french))
        self.assertIn('<h1>Meus dados</h1>', page)
        self.assertIn('<label for="postal_code">Código postal</label>', page)

        # Back to English with the switch
        page = self.page(client.get(self.url('/?lang=en'), headers=french))
        self.assertIn('<html lang="en">', page)
        self.assertIn('<th>Balance</th>', page)
        # An unknown language is ignored
        page = self.page(client.get(self.url('/?lang=xx'), headers=french))
        self.assertIn('<html lang="en">', page)

    def test_errors_before_routes(self):
        "A foreign Origin gets the portal's 403 page in the browser language"
        client = AddressClient(HTTPErrors(app), Response)
        response = client.get(self.url('/'), headers={
                'Origin': 'https://evil.example',
                'Accept-Language': 'fr'})
        page = self.page(response, HTTPStatus.FORBIDDEN)
        self.assertEqual(response.mimetype, 'text/html')
        self.assertIn('<html lang="fr">', page)
        self.assertIn('<h1>Accès interdit</h1>', page)
        self.assertIn(
            "Vous n'êtes pas autorisé à ouvrir cette page.", page)
        self.assertEqual(response.headers['X-Frame-Options'], 'DENY')

        # Outside the portal, werkzeug's own page
        response = client.get(f'/{self.db_name}/', headers={
                'Origin': 'https://evil.example'})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertNotIn('Customer Portal', response.get_data(as_text=True))

    def test_emails_in_french(self):
        "Credentials, welcome and invoice emails in the party's language"
        smtp = SMTPServer()
        self.addCleanup(smtp.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Lang = pool.get('ir.lang')
            Party = pool.get('party.party')
            Type = pool.get('customer.self_service.type')
            Company = pool.get('company.company')
            Invoice = pool.get('account.invoice')
            company, = Company.search([])
            fr, = Lang.search([('code', '=', 'fr')])
            type_, = Type.search([('code', '=', 'standard')])
            with set_company(company):
                gamma = Party(name="Gamma", code='GAMMA', lang=fr,
                    css_type=type_, css_login='gamma',
                    css_email='gamma@example.com', contact_mechanisms=[{
                            'type': 'email', 'value': 'billing@gamma.example',
                            'invoice': True}])
                gamma.save()
                Party.css_request([gamma])
                Party.css_create_user([gamma])
                # The task queued, run here
                Party.css_send_emails([gamma])
                alpha, = Party.search([('code', '=', 'ALPHA')])
                # The invoice email follows the party language too: Alpha
                # in French now
                Party.write([alpha], {'lang': fr.id, 'contact_mechanisms': [
                            ('create', [{'type': 'email',
                                        'value': 'alpha@example.com'}])]})
                invoice, = Invoice.search([('party', '=', alpha.id)])
                message = invoice._get_billing_email_message()
                sendmail.send_message(message, strict=True)
            transaction.rollback()

        credentials, welcome, invoice_email = smtp.messages()
        self.assertEqual(credentials['To'], 'gamma@example.com')
        self.assertEqual(
            credentials['Subject'], "Votre accès au portail client")
        body = credentials.get_body().get_content()
        self.assertIn("Votre identifiant pour le portail client est : gamma",
            body)
        # The 24 hours of the token, in whole units (no microseconds)
        validity = re.search(r'\(valable ([^)]*)\)', body).group(1)
        self.assertEqual(validity.replace('\xa0', ' '), '1j')
        self.assertEqual(welcome['Subject'], "Bienvenue sur le portail client")
        self.assertIn("Bonjour Gamma,", welcome.get_body().get_content())

        # fr: dates as %d.%m.%Y, the thousands grouped by a space
        self.assertEqual(invoice_email['Subject'],
            f"Facture {self.invoice_number} de Dunder Mifflin")
        body = invoice_email.get_body().get_content()
        date = self.invoice_date.strftime('%d.%m.%Y')
        self.assertIn(f"du {date}", body)
        self.assertRegex(body, r'1\s234,50 usd')
        self.assertNotIn(str(self.invoice_date), body)
        self.assertNotIn('1234.50', body)
        # The token validity is not dated in seconds
        self.assertNotRegex(
            credentials.get_body().get_content(), r'\d\.\d{6}')
