"""Browser test of customer_invoicing_run: simulate and run an invoicing
run from the web client, follow its progress and read its log.

Screenshots (artifacts/screenshots/): invoicing-run-preview.png,
invoicing-run-progress.png, invoicing-run-resumed-log.png,
invoicing-run-done.png.
"""
import os

from tests.browser import BrowserTestCase, run_setup_hook


def create_runs(config):
    """Create customers, manual items and sales, a draft run over Alice's
    sources and a run over Bob's items stopped after its first batch."""
    import datetime as dt
    from decimal import Decimal

    from proteus import Model
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, create_tax, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import (
        create_company, get_company)
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    create_company(config=config)
    create_chart(config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(config=config))
    fiscalyear.click('create_period')
    accounts = get_accounts(config=config)
    tax = create_tax(Decimal('.21'), config=config)
    tax.save()
    Category = Model.get('product.category')
    category = Category(name="Services", accounting=True)
    category.account_revenue = accounts['revenue']
    category.customer_taxes.append(tax)
    category.save()
    Uom = Model.get('product.uom')
    unit, = Uom.find([('name', '=', 'Unit')])
    Template = Model.get('product.template')
    template = Template(name="Consulting", default_uom=unit,
        type='service', salable=True, list_price=Decimal('100'),
        account_category=category)
    template.save()
    product, = template.products
    Profile = Model.get('customer.billing.profile')
    profile = Profile(code='M', name="Monthly", grouping='account',
        cycle='monthly', cycle_day=1, channel='print', bill_to='customer')
    profile.save()
    Party = Model.get('party.party')
    Account = Model.get('customer.account')
    ManualItem = Model.get('customer.invoicing.manual_item')
    today = dt.date.today()
    parties = {}
    for name in ["Alice", "Bob"]:
        party = parties[name] = Party(name=name)
        party.addresses.new()
        party.save()
        account = Account(code=name, party=party, profile=profile)
        account.save()
        for i in range(6):
            item = ManualItem(customer_account=account, product=product,
                quantity=i + 1, unit_price=Decimal('10'), date=today,
                description="Support %s" % (i + 1))
            item.save()
    Sale = Model.get('sale.sale')
    for quantity in [1, 2]:
        sale = Sale(party=parties["Alice"], invoice_method='manual')
        line = sale.lines.new()
        line.product = product
        line.quantity = quantity
        sale.click('quote')
        sale.click('confirm')
    Run = Model.get('customer.invoicing.run')
    draft = Run(reference="Alice November", cutoff_date=today,
        invoice_date=today)
    draft.parties.append(Party(parties["Alice"].id))
    draft.save()
    stalled = Run(reference="Bob November", cutoff_date=today,
        invoice_date=today, sources=['manual'])
    stalled.parties.append(Party(parties["Bob"].id))
    stalled.save()

    # start Bob's run and bill its first batch of 2 items only, as if the
    # worker had died after it
    company = get_company(config=config)
    pool = Pool(config.database_name)
    # as the worker does, start again with the row locks the batch asks for
    extras = {}
    while True:
        try:
            with Transaction().start(
                    config.database_name, config.user,
                    context={'company': company.id,
                        'invoicing_run_batch_size': 2},
                    **extras) as transaction:
                RunModel = pool.get('customer.invoicing.run')
                run = RunModel(stalled.id)
                RunModel.run([run])
                RunModel.process_batch([run])
                transaction.tasks.clear()
                transaction.commit()
            break
        except TransactionError as error:
            error.fix(extras)
    return {'draft': draft.id, 'stalled': stalled.id}


def read_runs(config):
    from proteus import Model
    Run = Model.get('customer.invoicing.run')
    return {r.reference: [r.state, r.items_total, r.items_done,
            r.invoice_count, r.totals] for r in Run.find([])}


class InvoicingRunBrowserTest(BrowserTestCase):
    # the module set of the invoicing-run module tests and scenarios: one
    # activation serves them all
    modules = ['customer_invoicing_run', 'customer_project',
        'sale_subscription']
    setup_hook = create_runs

    def assert_screenshot(self, name, size=10_000):
        path = self.browser.screenshot(name)
        self.assertGreater(os.path.getsize(path), size)

    def open_tab(self, label):
        from selenium.webdriver.common.by import By
        browser = self.browser
        tabs = [t for t in browser.driver.find_elements(
                By.XPATH, "//a[@role='tab' or @data-toggle='tab' "
                "or contains(@class, 'nav-link') or ancestor::ul"
                "[contains(@class, 'nav-tabs')]]")
            if t.is_displayed() and t.text.strip() == label]
        self.assertTrue(tabs, "no tab %r" % label)
        tabs[0].click()
        browser.wait_idle()

    def test_simulate_run_and_resume(self):
        "Simulate then run a draft run; resume a run stopped mid-way"
        browser = self.browser
        browser.open_model(
            'customer.invoicing.run', self.setup_data['draft'])
        browser.assert_text("Alice November")
        browser.click_button('Simulate')
        browser.wait_idle()
        self.open_tab('Preview')
        # Alice: sales of 1 and 2 x 100 and items of 10 to 60: 300 + 210
        # = 510 untaxed, 107.10 tax (21%), 617.10 in one invoice
        browser.assert_text('617.10')
        self.assert_screenshot('invoicing-run-preview')

        browser.click_button('Run')
        browser.wait_idle()
        # what the run did is posted on its chat, its transitions listed
        # on the Log page (the runs' outcome is read back below)
        self.open_tab('Log')
        self.assert_screenshot('invoicing-run-done')

        browser.open_model(
            'customer.invoicing.run', self.setup_data['stalled'])
        browser.assert_text("Bob November")
        self.open_tab('Progress')
        self.assert_screenshot('invoicing-run-progress')
        browser.click_button('Resume')
        browser.wait_idle()
        self.open_tab('Log')
        self.assert_screenshot('invoicing-run-resumed-log')

        runs = run_setup_hook(self.site, self.database, read_runs)
        # Bob: items of 10 to 60 = 210 untaxed + 44.10 tax = 254.10
        self.assertEqual(runs['Alice November'][:4], ['done', 8, 8, 1])
        self.assertEqual(runs['Bob November'],
            ['done', 6, 6, 1, 'USD: 210.00 + 44.10 = 254.10'])
