"""Browser test of the customer portal (customer_self_service).

In headless Chromium against a real trytond: a customer requests access, the
staff creates its user (the emails go to a real SMTP server on loopback), the
customer follows the emailed link, sets a password, logs in, sees its
invoices and downloads one as PDF; the second customer's invoice is
unreachable.  Screenshots: artifacts/screenshots/self-service-*.png (and the
downloaded self-service-invoice.pdf).

The staff step runs in the web client (sao): the customer's form, its
Customer Self Service tab, the Create User Record button and its
confirmation.  The server runs outside test mode, where trytond checks the
domain of an email address in DNS, which this machine does not reach: the
server of this test loads a ``sitecustomize`` that keeps email_validator's
syntax checks but skips the DNS lookup (``check_deliverability=False``).
"""
import base64
import os
import re
import shutil
import tempfile
import time
import unittest
from urllib.parse import urlsplit

from tests import browser, support
from tests.browser import SCREENSHOTS, BrowserTestCase

PASSWORD = 'Portal-Secret-42'


def create_customers(config):
    "Two customers with a posted invoice; Beta already has a portal user"
    import datetime
    from decimal import Decimal

    from proteus import Model

    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company
    from trytond.pool import Pool
    Pool.test = True  # no DNS check of the emails (unreachable here)

    create_company(config=config)
    create_chart(config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(config=config))
    fiscalyear.click('create_period')
    revenue = get_accounts(config=config)['revenue']

    Party = Model.get('party.party')
    Profile = Model.get('customer.billing.profile')
    CustomerAccount = Model.get('customer.account')
    Invoice = Model.get('account.invoice')
    Type = Model.get('customer.self_service.type')
    WebUser = Model.get('web.user')
    profile = Profile(code='STD', name="Standard")
    profile.save()
    data = {}
    for name, code, amount in [
            ("Alpha Trading", 'ALPHA', Decimal('100.00')),
            ("Beta Industries", 'BETA', Decimal('200.00'))]:
        party = Party(name=name, code=code)
        # The address on file a request for access must give
        mechanism = party.contact_mechanisms.new()
        mechanism.type = 'email'
        mechanism.value = code.lower() + '@example.com'
        party.save()
        account = CustomerAccount(
            code='ACC-' + code, party=party, profile=profile)
        account.save()
        invoice = Invoice(type='out', party=party,
            invoice_date=datetime.date.today())
        invoice.customer_account = account
        line = invoice.lines.new()
        line.account = revenue
        line.description = "Consulting"
        line.quantity = 1
        line.unit_price = amount
        invoice.click('post')
        data[code] = {'party': party.id, 'account': account.id,
            'invoice': invoice.id, 'number': invoice.number}
    standard, = Type.find([('code', '=', 'standard')])
    beta = Party(data['BETA']['party'])
    user = WebUser(email='beta@example.com', login='beta', party=beta,
        css_type=standard, password=PASSWORD)
    user.save()
    beta.css_login = 'beta'
    beta.css_email = 'beta@example.com'
    beta.css_type = standard
    beta.save()
    beta.click('css_request')
    Party.write([beta.id], {'css_user': user.id, 'css_status': 'registered'},
        config.context)
    return data


# No DNS here: email domains are not looked up by the test's server
NO_DNS_SITECUSTOMIZE = """
import email_validator

_validate_email = email_validator.validate_email


def validate_email(email, *args, **kwargs):
    kwargs['check_deliverability'] = False
    return _validate_email(email, *args, **kwargs)


email_validator.validate_email = validate_email
"""

PORTAL_URL = 'https://portal.example.com/customer_portal'

CSS_STATUS = '''
from proteus import Model, config as pconfig
pconfig.set_trytond(DATABASE, config_file=CONFIG_FILES)
party, = Model.get('party.party').find([('code', '=', ARGS[0])])
open(ARGS[1], 'w').write(party.css_status)
'''


class SelfServiceBrowserTest(BrowserTestCase):
    modules = ['customer_self_service']
    setup_hook = create_customers
    login = False

    @classmethod
    def setUpClass(cls):
        from trytond.modules.customer_self_service.tests.smtp_server import (
            SMTPServer)
        reason = browser.browser_unavailable()
        if reason:
            raise unittest.SkipTest(reason)
        cls.smtp = SMTPServer()
        cls.addClassCleanup(cls.smtp.stop)
        # The server of this class sends its emails to the SMTP server and
        # loads the sitecustomize of the directory put first in PYTHONPATH
        shim = tempfile.mkdtemp(prefix='no-dns-')
        cls.addClassCleanup(shutil.rmtree, shim, True)
        with open(os.path.join(shim, 'sitecustomize.py'), 'w') as fp:
            fp.write(NO_DNS_SITECUSTOMIZE)
        site = browser._site()
        overrides = {k: dict(v) for k, v in site.overrides.items()}
        site.overrides.setdefault('email', {})['uri'] = cls.smtp.uri
        # Emailed links come from the configuration, not from the request
        site.overrides.setdefault('customer_self_service', {})[
            'portal_url'] = PORTAL_URL
        pythonpath = os.environ.get('PYTHONPATH')
        os.environ['PYTHONPATH'] = os.pathsep.join(
            filter(None, [shim, pythonpath]))
        try:
            super().setUpClass()
        finally:
            site.overrides.clear()
            site.overrides.update(overrides)
            if pythonpath is None:
                del os.environ['PYTHONPATH']
            else:
                os.environ['PYTHONPATH'] = pythonpath
        cls.portal = f'{cls.base_url}/{cls.database}/customer_portal'

    def tearDown(self):
        if self._failed():
            print(self.server.log_tail(6000))
        super().tearDown()

    def status(self, code):
        path = f'{self.site.directory}/status-{code}.txt'
        support.run_python(self.site, self.database, CSS_STATUS, code, path)
        with open(path) as fp:
            return fp.read()

    def submit(self, values):
        from selenium.webdriver.common.by import By
        driver = self.browser.driver
        for name, value in values.items():
            field = driver.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait
        page = driver.find_element(By.TAG_NAME, 'html')
        driver.find_element(By.ID, 'submit').click()
        # The form posts and the server answers with a new page (the login
        # checks an argon2 hash, which takes a while): wait until the old
        # page is gone, or page_source may still return it.
        WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))
        self.wait_loaded()

    def wait_loaded(self, timeout=20):
        driver = self.browser.driver
        end = time.monotonic() + timeout
        while driver.execute_script('return document.readyState') != (
                'complete'):
            if time.monotonic() > end:
                break
            time.sleep(0.05)

    def page(self):
        return self.browser.driver.page_source

    def fetch(self, path):
        """GET path with the browser's cookies; return (status, type,
        content disposition, content)"""
        status, type_, disposition, content = (
            self.browser.driver.execute_async_script(
                'const done = arguments[arguments.length - 1];'
                'fetch(arguments[0], {credentials: "same-origin"}).then('
                'r => r.blob().then(b => {'
                'const reader = new FileReader();'
                'reader.onload = () => done([r.status,'
                'r.headers.get("content-type"),'
                'r.headers.get("content-disposition"),'
                'reader.result.split(",")[1] || ""]);'
                'reader.readAsDataURL(b);}));',
                self.portal + path))
        return status, type_, disposition, base64.b64decode(content)

    def open_tab(self, label):
        from selenium.webdriver.common.by import By
        tabs = [t for t in self.browser.driver.find_elements(
                By.XPATH, "//a[@role='tab' or @data-toggle='tab' "
                "or ancestor::ul[contains(@class, 'nav-tabs')]]")
            if t.is_displayed() and t.text.strip() == label]
        self.assertTrue(tabs, "no tab %r" % label)
        tabs[0].click()
        self.browser.wait_idle()

    def staff_creates_user(self, customer):
        "Fill the CSS fields of the customer and click Create User Record"
        from selenium.webdriver.support.select import Select
        b = self.browser
        b.login()
        # The first opening of the customer form loads its large view
        b.open_model('party.party', customer['party'], timeout=180)
        b.assert_text('Alpha Trading')
        self.open_tab('Customer Self Service')
        # The email of the access request is on the customer
        self.assertEqual(b.value('css_email'), 'alpha@example.com')
        b.fill('css_login', 'alpha')
        b.fill_many2one('css_type', 'Standard')
        b.fill_many2one('css_primary_account', 'ACC-ALPHA')
        b.save()
        b.screenshot('self-service-staff-customer')
        b.click_button('Create User Record')
        # The confirmation of the button
        b.assert_text('Create the portal user and send the emails?')
        b.screenshot('self-service-staff-confirm')
        b.click_button('OK')
        b.wait_idle(120)
        # The emails are sent by the queued task once the button's
        # transaction is committed; sao shows the record reloaded
        b.open_model('party.party', customer['party'], timeout=120)
        self.open_tab('Customer Self Service')
        # The portal user is linked (its name is its email), registered
        self.assertEqual(b.value('css_user'), 'alpha@example.com')
        self.assertEqual(
            Select(b.field('css_status')).first_selected_option.text,
            'Registered')
        b.screenshot('self-service-staff-user-created')

    def test_registration_to_invoice_download(self):
        from trytond.modules.customer_self_service.tests.test_routes import (
            pdf_text)
        from trytond.tools import slugify
        driver = self.browser.driver
        data = self.setup_data
        alpha, beta = data['ALPHA'], data['BETA']

        # The customer requests access
        driver.get(self.portal + '/request-access')
        self.wait_loaded()
        self.submit({'code': 'ALPHA', 'invoice': alpha['number'],
                'email': 'alpha@example.com'})
        self.assertIn('our staff will contact you', self.page())
        self.browser.screenshot('self-service-request-access')
        self.assertEqual(self.status('ALPHA'), 'requested')

        # The staff creates the user in the web client: two emails are sent
        self.staff_creates_user(alpha)
        credentials, welcome = self.smtp.wait(2)
        self.assertEqual(self.status('ALPHA'), 'registered')
        self.assertEqual(credentials['To'], 'alpha@example.com')
        self.assertIn('Welcome', welcome['Subject'])
        link, = re.findall(
            r'https?://\S+/set-password#\S+', credentials.get_content())
        self.assertTrue(link.startswith(PORTAL_URL + '/set-password#'))
        link = self.portal + link[len(PORTAL_URL):]

        # The customer follows the link and sets its password
        driver.get(link)
        self.wait_loaded()
        self.submit({'password': PASSWORD, 'confirm': PASSWORD})
        self.assertIn('Your password is set', self.page())
        self.browser.screenshot('self-service-password-set')

        # Logs in, on a phone sized window
        driver.set_window_size(390, 844)
        driver.get(self.portal + '/login')
        self.wait_loaded()
        self.submit({'login': 'alpha', 'password': PASSWORD})
        self.assertIn('Alpha Trading', self.page())
        self.assertNotIn('Beta Industries', self.page())
        self.browser.screenshot('self-service-dashboard-phone')
        driver.set_window_size(1440, 1200)

        # Sees its invoices and downloads one
        driver.get(self.portal + '/invoices')
        self.wait_loaded()
        page = self.page()
        self.assertIn(f'<td>{alpha["number"]}</td>', page)
        self.assertNotIn(f'<td>{beta["number"]}</td>', page)
        self.browser.screenshot('self-service-invoices')
        status, type_, disposition, content = self.fetch(
            f'/invoices/{alpha["invoice"]}/download')
        self.assertEqual(status, 200)
        self.assertEqual(type_, 'application/pdf')
        self.assertIn(
            'filename="%s.pdf"' % slugify('Invoice-' + alpha['number']),
            disposition)
        # The PDF of its own invoice (Tryton's invoice report)
        self.assertTrue(content.startswith(b'%PDF-'), content[:100])
        text = pdf_text(content)
        self.assertIn(alpha['number'], text)
        self.assertIn('Alpha Trading', text)
        self.assertIn('100.00', text)
        self.assertNotIn('Beta Industries', text)
        with open(os.path.join(SCREENSHOTS, 'self-service-invoice.pdf'),
                'wb') as fp:
            fp.write(content)

        # The second customer's invoice is unreachable
        status, _, _, content = self.fetch(
            f'/invoices/{beta["invoice"]}/download')
        self.assertEqual(status, 404)
        self.assertFalse(content.startswith(b'%PDF'))
        driver.get(self.portal + f'/invoices/{beta["invoice"]}/download')
        self.wait_loaded()
        self.browser.screenshot('self-service-other-invoice-denied')
        self.assertEqual(urlsplit(driver.current_url).path.split('/')[-1],
            'download')
