"""Browser test of customer_status: the status window and the cockpit

Screenshots: artifacts/screenshots/customer-status-window.png,
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


def open_status_window(browser, menu, show="Show"):
    """Open the status window of CUSTOMER from the menu entry (names from
    the top) and press the button labelled show"""
    browser.open_menu(*menu)
    try:
        browser.fill_many2one('party', CUSTOMER)
    except TimeoutError:
        # sao already set the only match while the helper waited for
        # the completion list
        browser.wait_idle()
    assert browser.value('party') == CUSTOMER, browser.value('party')
    # the menu's double click may stack two wizard dialogs: press the
    # button of the top one (the one just filled)
    buttons = [b for b in browser.driver.find_elements(
            'css selector', f'.modal button[title="{show}"]')
        if b.is_displayed()]
    browser.driver.execute_script('arguments[0].click();', buttons[-1])
    browser.wait_idle()


class CustomerStatusBrowserTest(BrowserTestCase):
    modules = ['customer_status']
    setup_hook = create_ledger

    def test_status_window(self):
        "Open the status window of the customer and show its figures"
        browser = self.browser
        open_status_window(browser,
            ['Financial', 'Customer Status', 'Customer Status'])
        browser.wait_text('Current Balance')
        browser.assert_text('600.00')
        path = browser.screenshot('customer-status-window')
        self.assertGreater(os.path.getsize(path), 10_000)

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
