"""Browser test of customer_billing: configure a billing profile and a
customer account in the web client.

Screenshots (artifacts/screenshots/): customer-billing-profile.png,
customer-billing-account.png.
"""
import os

from tests.browser import BrowserTestCase, run_setup_hook

CUSTOMER = "Lovelace Branch Ltd"


def create_customer(config):
    "Create the company and a customer; return the customer id"
    from proteus import Model
    from trytond.modules.company.tests.tools import create_company

    create_company(config=config)
    Party = Model.get('party.party')
    customer = Party(name=CUSTOMER)
    customer.save()
    return {'party': customer.id}


def read_billing(config):
    "Return what the web client saved"
    from proteus import Model
    Profile = Model.get('customer.billing.profile')
    Account = Model.get('customer.account')
    return {
        'profiles': [
            (p.code, p.name, p.grouping, p.cycle, p.cycle_day, p.bill_to)
            for p in Profile.find([])],
        'accounts': [
            (a.code, a.party.name, a.profile.code, a.state)
            for a in Account.find([])],
        }


class CustomerBillingBrowserTest(BrowserTestCase):
    modules = ['customer_billing']
    setup_hook = create_customer

    def assert_screenshot(self, name, size=10_000):
        path = self.browser.screenshot(name)
        self.assertGreater(os.path.getsize(path), size)

    def test_configure_profile_and_account(self):
        "Create a billing profile then a customer account using it"
        browser = self.browser
        browser.open_menu('Parties', 'Customer Billing', 'Billing Profiles')
        browser.click_button('New')
        browser.fill('code', 'HQM')
        browser.fill('name', "Headquarter monthly")
        browser.fill('grouping', "Per Headquarter per Cycle")
        browser.fill('bill_to', "Its Headquarter")
        browser.fill('cycle', "Monthly")
        # the on_change of the cycle proposes the 1st of the month
        self.assertEqual(browser.value('cycle_day'), '1')
        browser.fill('channel', "UBL E-Invoice")
        browser.save()
        self.assert_screenshot('customer-billing-profile')

        browser.open_menu('Parties', 'Customer Billing', 'Customer Accounts')
        browser.click_button('New')
        browser.fill('code', 'CA-001')
        browser.fill_many2one('party', CUSTOMER)
        browser.fill_many2one('profile', 'HQM')
        browser.save()
        browser.assert_text('CA-001')
        browser.assert_text(CUSTOMER)
        self.assert_screenshot('customer-billing-account')

        saved = run_setup_hook(self.site, self.database, read_billing)
        self.assertEqual(saved['profiles'], [
                ['HQM', "Headquarter monthly", 'headquarter', 'monthly', 1,
                    'headquarter']])
        self.assertEqual(saved['accounts'], [
                ['CA-001', CUSTOMER, 'HQM', 'active']])
