"""Browser test in Portuguese: the customer status window of a Portuguese
internal user in the web client (sao) and the customer portal of a
Portuguese customer, with Tryton's translations loaded for Portuguese.

Screenshots: artifacts/screenshots/customer-status-window-pt.png and
self-service-dashboard-pt.png; both are copied to docs/screenshots/ (shown by
the README) when missing there or when UPDATE_SCREENSHOTS=1.
"""
import os
import shutil
import time

from tests import support
from tests.browser import BrowserTestCase
from tests.test_status_browser import create_ledger, open_status

PASSWORD = 'Senha-do-Portal-42'
USER_PASSWORD = 'Senha-Interna-42'
DOCS = os.path.join(support.ROOT, 'docs', 'screenshots')


def create_portuguese(config):
    """The ledger of the status browser test (an invoice of 1000 paid 400:
    balance 600), Portuguese loaded, an internal user and the customer in
    Portuguese, the customer with a portal user"""
    from proteus import Model

    from trytond.pool import Pool
    Pool.test = True  # no DNS check of the emails (unreachable here)

    data = create_ledger(config)
    Lang = Model.get('ir.lang')
    pt, = Lang.find([('code', '=', 'pt')])
    pt.click('load_translations')

    User = Model.get('res.user')
    Group = Model.get('res.group')
    Company = Model.get('company.company')
    company, = Company.find([])
    user = User(name="Maria Silva", login='maria', language=pt,
        password=USER_PASSWORD)
    user.companies.append(company)
    user.company = company
    user.groups.extend(Group.find([
                ('name', 'in', ['Accounting', 'Credit Manager'])]))
    user.save()

    Party = Model.get('party.party')
    Type = Model.get('customer.self_service.type')
    WebUser = Model.get('web.user')
    party = Party(data['party'])
    party.lang = pt
    party.save()
    standard, = Type.find([('code', '=', 'standard')])
    web_user = WebUser(email='babbage@example.com', login='babbage',
        party=party, css_type=standard, password=PASSWORD)
    web_user.save()
    party.css_login = 'babbage'
    party.css_email = 'babbage@example.com'
    party.css_type = standard
    party.save()
    party.click('css_request')
    Party.write([party.id], {
            'css_user': web_user.id, 'css_status': 'registered'},
        config.context)
    WebUser.write([web_user.id], {'css_password_change': False},
        config.context)
    return data


def publish(path, name):
    "Copy the screenshot to docs/screenshots/ when missing or asked"
    target = os.path.join(DOCS, name + '.png')
    if (not os.path.exists(target)
            or os.environ.get('UPDATE_SCREENSHOTS') == '1'):
        os.makedirs(DOCS, exist_ok=True)
        shutil.copyfile(path, target)


class PortugueseBrowserTest(BrowserTestCase):
    modules = ['customer_self_service']
    setup_hook = create_portuguese
    login = False

    def test_status_window(self):
        "A Portuguese user's status window: labels and figures in Portuguese"
        browser = self.browser
        browser.login(user='maria', password=USER_PASSWORD)
        # A tab open behind the status dialog (this user has no home tab)
        browser.open_model('party.party')
        # The menu, the field and the button in Portuguese
        open_status(browser,
            ['Contabilidade', 'Situação do cliente', 'Situação do cliente'])
        # pt: ',' before the cents (1000 - 400 paid)
        browser.assert_text('600,00')
        path = browser.screenshot('customer-status-window-pt')
        self.assertGreater(os.path.getsize(path), 10_000)
        publish(path, 'customer-status-window-pt')

    def test_portal(self):
        "The Portuguese customer's portal, from its party language"
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait
        driver = self.browser.driver
        portal = f'{self.base_url}/{self.database}/customer_portal'
        # Chromium asks for English (Accept-Language): the login page is
        # in English, the pages of the customer in its party language
        driver.get(portal + '/login')
        self.assertIn('Forgot your password?', driver.page_source)
        driver.find_element(By.NAME, 'login').send_keys('babbage')
        driver.find_element(By.NAME, 'password').send_keys(PASSWORD)
        page = driver.find_element(By.TAG_NAME, 'html')
        driver.find_element(By.ID, 'submit').click()
        WebDriverWait(driver, 30).until(
            expected_conditions.staleness_of(page))
        end = time.monotonic() + 20
        while ('Minha conta' not in driver.page_source
                and time.monotonic() < end):
            time.sleep(0.2)
        text = driver.find_element(By.TAG_NAME, 'body').text
        self.assertIn('Minha conta', text)
        self.assertIn('Saldo', text)
        self.assertIn('Faturas pendentes', text)
        self.assertIn('600,00', driver.find_element(
                By.CSS_SELECTOR, '.balance').text)
        self.assertEqual(driver.find_element(
                By.TAG_NAME, 'html').get_attribute('lang'), 'pt')
        path = self.browser.screenshot('self-service-dashboard-pt')
        self.assertGreater(os.path.getsize(path), 5_000)
        publish(path, 'self-service-dashboard-pt')
