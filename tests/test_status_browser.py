"""Browser test of customer_status: the status tab, its drill-downs and
print, and the cockpit

Screenshots: artifacts/screenshots/customer-status-tab.png,
customer-status-drill-down.png,
customer-status-cockpit.png and customer-status-cockpit-graph.png.
"""
import os

from tests.browser import BrowserTestCase

CUSTOMER = "Babbage Engines Ltd"


def create_ledger(config):
    """Create a company, a chart, a customer with an overdue invoice of 1000
    partially paid 400 and refresh the snapshots; return the ids."""
    import datetime as dt
    from decimal import Decimal

    from proteus import Model, Wizard
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company

    create_company(config=config)
    create_chart(config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(config=config), config=config)
    fiscalyear.click('create_period')
    accounts = get_accounts(config=config)
    config.skip_warning = True

    Party = Model.get('party.party')
    customer = Party(name=CUSTOMER)
    customer.credit_limit_amount = Decimal('2000')
    customer.save()
    Invoice = Model.get('account.invoice')
    invoice = Invoice(type='out', party=customer)
    invoice.invoice_date = fiscalyear.start_date
    invoice.payment_term_date = fiscalyear.start_date
    line = invoice.lines.new()
    line.account = accounts['revenue']
    line.quantity = 1
    line.unit_price = Decimal('1000')
    invoice.click('post')

    Journal = Model.get('account.journal')
    PaymentMethod = Model.get('account.invoice.payment.method')
    journal_cash, = Journal.find([('type', '=', 'cash')])
    method = PaymentMethod(name='Cash', journal=journal_cash)
    method.credit_account = method.debit_account = accounts['cash']
    method.save()
    pay = invoice.click('pay')
    pay.form.date = fiscalyear.start_date
    pay.form.amount = Decimal('400')
    pay.form.payment_method = method
    pay.execute('choice')
    pay.form.type = 'partial'
    pay.execute('pay')

    recalculate = Wizard('customer.status.recalculate')
    recalculate.execute('recalculate')
    del dt
    return {'party': customer.id}


def open_status(browser, menu):
    """Open the status tab from the menu entry (names from the top), choose
    CUSTOMER in its context form and show the figures"""
    browser.open_menu(*menu)
    # a tab, not a dialog: the context form and the list in the page
    assert not browser._visible('.modal.in')
    try:
        browser.fill_many2one('party', CUSTOMER)
    except TimeoutError:
        # sao already set the only match while the helper waited for
        # the completion list
        browser.wait_idle()
    assert browser.value('party') == CUSTOMER, browser.value('party')
    # the context form is part of the tab's search form: submit it
    browser.driver.execute_script(
        "jQuery('#tabcontent .tab-pane.active form.filter-box')"
        ".first().submit();")
    browser.wait_idle()


def toolbar_menu(browser, button_id, entry):
    "Open the toolbar menu button_id of the active tab and pick entry"
    button, = [b for b in browser.driver.find_elements(
            'css selector', f'#tabcontent .tab-pane.active '
            f'button#{button_id}') if b.is_displayed()]
    button.click()
    item = browser._until(
        lambda: [a for a in browser.driver.find_elements(
                'css selector', '.dropdown-menu a')
            if a.is_displayed() and a.text.strip() == entry],
        10, f"no {entry!r} in the {button_id} menu")[0]
    before = browser._active_tab_id()
    item.click()
    browser.wait_idle()
    return before


class CustomerStatusBrowserTest(BrowserTestCase):
    modules = ['customer_status']
    setup_hook = create_ledger

    def test_status_tab(self):
        """Open the status in a tab, choose the customer in its context
        form, drill down to the invoices in a new tab in front, print"""
        browser = self.browser
        open_status(browser,
            ['Financial', 'Customer Status', 'Customer Status'])
        # 1000 invoiced - 400 paid = 600 open, 600 / 2000 = 30 % of the limit
        browser.assert_text('600.00')
        browser.assert_text('30.0')
        path = browser.screenshot('customer-status-tab')
        self.assertGreater(os.path.getsize(path), 10_000)

        def customer_cell():
            return browser._until(
                lambda: [td for td in browser._visible(
                        '#tabcontent .tab-pane.active td')
                    if td.text.strip() == CUSTOMER],
                10, "no row of the customer")[0]
        customer_cell().click()
        browser.wait_idle()
        status_tab = browser._active_tab_id()
        # with the customer's row selected, the drill-down opens a new tab
        # in front, with the invoice and without the Draft tab of the
        # invoices menu
        toolbar_menu(browser, 'relate', 'Invoices')
        browser._wait_tab(status_tab, 'Invoices', 30)
        self.assertNotEqual(browser._active_tab_id(), status_tab)
        self.assertFalse(browser._visible('.modal.in'))
        browser.assert_text(CUSTOMER)
        browser.assert_text('1,000.00')
        self.assertNotIn('Draft', browser._current_tab()[0].text)
        path = browser.screenshot('customer-status-drill-down')
        self.assertGreater(os.path.getsize(path), 10_000)

        # back to the status tab: print from its toolbar
        tab, = [a for a in browser.driver.find_elements(
                'css selector', '#tablist a')
            if a.get_attribute('href').endswith('#' + status_tab)]
        tab.click()
        browser.wait_idle()
        self.assertEqual(browser._active_tab_id(), status_tab)
        toolbar_menu(browser, 'print', 'Customer Status')
        link = browser._until(
            lambda: [a for a in browser.driver.find_elements(
                    'css selector', '.modal a[download]')],
            30, "no report to download")[0]
        self.assertRegex(
            link.get_attribute('download'), r'Customer Status.*\.(pdf|odt)$')
        browser.driver.execute_script(
            "jQuery('.modal.in').modal('hide');")
        browser.wait_idle()
        # the status tab stays open behind the download
        self.assertEqual(browser._active_tab_id(), status_tab)

    def test_cockpit(self):
        "Open the cockpit list and its graph"
        browser = self.browser
        browser.open_menu('Financial', 'Customer Status', 'Customer Cockpit')
        browser.assert_text(CUSTOMER)
        browser.assert_text('600.00')
        path = browser.screenshot('customer-status-cockpit')
        self.assertGreater(os.path.getsize(path), 10_000)
        browser.open_action('customer_status.act_snapshot_top_balance')
        path = browser.screenshot('customer-status-cockpit-graph')
        self.assertGreater(os.path.getsize(path), 5_000)


CREDIT_MANAGER = ('carla', 'Carla-Credit-2026')


def create_credit_manager(config):
    """The ledger of create_ledger and Carla, a user of the company with
    the Credit Manager and Accounting groups only"""
    from proteus import Model
    data = create_ledger(config)
    User = Model.get('res.user')
    Group = Model.get('res.group')
    Company = Model.get('company.company')
    ModelData = Model.get('ir.model.data')
    user = User(login=CREDIT_MANAGER[0], name="Carla Credit",
        password=CREDIT_MANAGER[1])
    for module, fs_id in [('customer_status', 'group_credit_manager'),
            ('account', 'group_account')]:
        user.groups.append(Group(ModelData.get_id(
                    module, fs_id, config.context)))
    company, = Company.find([])
    user.companies.append(company)
    user.company = Company(company.id)
    user.save()
    return data


class CreditManagerBrowserTest(BrowserTestCase):
    """The credit manager's walk: the status list, one customer's status
    opened from its row, a drill-down in front, the cockpit"""
    modules = ['customer_status']
    setup_hook = create_credit_manager
    login = False

    def test_credit_manager(self):
        from selenium.webdriver.common.action_chains import ActionChains
        browser = self.browser
        browser.login(*CREDIT_MANAGER)
        open_status(browser,
            ['Financial', 'Customer Status', 'Customer Status'])
        # the open balance of the customer's row (its name is a link to
        # the party, which a double click would open instead)
        cell = browser._until(
            lambda: [td for tr in browser._visible(
                    '#tabcontent .tab-pane.active tbody tr')
                if CUSTOMER in tr.text
                for td in tr.find_elements('css selector', 'td')
                if td.is_displayed() and td.text.strip().endswith('600.00')],
            10, "no open balance in the row of the customer")[0]
        status_tab = browser._active_tab_id()
        # a double click on the row opens its form in the same tab
        ActionChains(browser.driver).double_click(cell).perform()
        browser.wait_idle()
        browser._until(lambda: browser._visible(
                '#tabcontent .tab-pane.active .form'), 10, "no form")
        self.assertEqual(browser._active_tab_id(), status_tab)
        # 1000 invoiced - 400 paid = 600 open, 30 % of the 2000 limit
        browser.assert_text('600.00')
        browser.assert_text('30.0')
        path = browser.screenshot('credit-manager-status-form')
        self.assertGreater(os.path.getsize(path), 10_000)

        # the invoices behind the figures open in a new tab in front
        toolbar_menu(browser, 'relate', 'Invoices')
        browser._wait_tab(status_tab, 'Invoices', 30)
        self.assertNotEqual(browser._active_tab_id(), status_tab)
        self.assertFalse(browser._visible('.modal.in'))
        browser.assert_text('1,000.00')

        browser.open_menu(
            'Financial', 'Customer Status', 'Customer Cockpit')
        browser.assert_text(CUSTOMER)
        browser.assert_text('600.00')
        path = browser.screenshot('credit-manager-cockpit')
        self.assertGreater(os.path.getsize(path), 10_000)
