"""Browser test of customer_billing: configure a billing profile and a
customer account in the web client; the billing clerk finds a failed email
delivery and retries it.

Screenshots (artifacts/screenshots/): customer-billing-profile.png,
customer-billing-account.png, billing-clerk-failed-email.png.
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
    return {'party': customer.id, 'delivery': create_failed_delivery(
            config, customer.id)}


def create_failed_delivery(config, party_id):
    """Store an email to the customer whose delivery failed for good (the
    mail server refused it); return the delivery id"""
    from email.message import EmailMessage

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(config.database_name, config.user) as t:
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        Party = pool.get('party.party')
        message = EmailMessage()
        message['To'] = 'accounts@lovelace.example'
        message['Subject'] = "Your invoice"
        message.set_content("Please find your invoice.")
        # three attempts: a retry that fails again stays queued
        delivery, = Delivery.create_message(
            message, Party(party_id), max_attempts=3)
        Delivery.write([delivery], {
                'attempts': 3, 'error': "550 Mailbox unavailable"})
        Delivery.fail([delivery])
        t.commit()
        return delivery.id


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


def read_deliveries(config):
    "Return the state and attempts of the email deliveries"
    from proteus import Model
    return [[d.state, d.attempts]
        for d in Model.get('customer.email.delivery').find([])]


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
        browser.fill('channel', "E-Invoice Attachment")
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

    def test_retry_failed_email(self):
        "The failed delivery is listed with the server's answer and retried"
        browser = self.browser
        browser.open_model('customer.email.delivery',
            self.setup_data['delivery'])
        browser.assert_text('accounts@lovelace.example')
        browser.assert_text('550 Mailbox unavailable')
        self.assert_screenshot('billing-clerk-failed-email')
        browser.click_button('Retry')
        browser.wait_idle()
        # queued again with its attempts reset; the attempt made at once
        # either sent it (a mail server on the configured port) or failed
        # once of three: never failed for good again
        (state, attempts), = run_setup_hook(
            self.site, self.database, read_deliveries)
        self.assertIn(state, {'queued', 'sent'})
        self.assertLessEqual(attempts, 1)
