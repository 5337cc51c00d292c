"""Smoke test of the web client: sao served by a real trytond, in Chromium.

The screenshot of the customer's form is saved as a test artifact
(artifacts/screenshots/web-client-party.png); it is copied to
docs/screenshots/web-client-party.png (shown by the README) when that file
is missing or when UPDATE_SCREENSHOTS=1.
"""
import os
import shutil

from tests import support
from tests.browser import BrowserTestCase

PARTY_NAME = "Ada Lovelace Consulting"
README_SCREENSHOT = os.path.join(
    support.ROOT, 'docs', 'screenshots', 'web-client-party.png')


def create_customer(config):
    "Create the customer the tests open; return its id."
    from proteus import Model
    Party = Model.get('party.party')
    party = Party(name=PARTY_NAME)
    address, = party.addresses
    address.street_name = "Analytical Engine Street"
    address.building_number = "12"
    address.postal_code = "W1 2AB"
    address.city = "London"
    # no email: trytond checks its domain in DNS, unreachable here
    for type_, value in [
            ('phone', '+44 20 7946 0000'),
            ('website', 'https://lovelace.example.com')]:
        party.contact_mechanisms.new(type=type_, value=value)
    party.save()
    return {'party': party.id}


class WebClientSmokeTest(BrowserTestCase):
    modules = ['party']
    setup_hook = create_customer

    def test_customer_form(self):
        "Log in, open the customer's form, see its name, screenshot it"
        browser = self.browser
        browser.open_model('party.party', self.setup_data['party'])
        browser.assert_text(PARTY_NAME)
        self.assertEqual(browser.value('name'), PARTY_NAME)
        browser.assert_text("https://lovelace.example.com")
        path = browser.screenshot('web-client-party')
        self.assertGreater(os.path.getsize(path), 10_000)
        if (not os.path.exists(README_SCREENSHOT)
                or os.environ.get('UPDATE_SCREENSHOTS') == '1'):
            os.makedirs(os.path.dirname(README_SCREENSHOT), exist_ok=True)
            shutil.copyfile(path, README_SCREENSHOT)

    def test_customer_list(self):
        "The parties list shows the customer"
        browser = self.browser
        browser.open_model('party.party')
        browser.assert_text(PARTY_NAME)
        browser.screenshot('web-client-party-list')

    def test_new_party_from_menu(self):
        "A party typed in through the menu and saved is in the database"
        browser = self.browser
        browser.open_menu('Parties', 'Parties')
        browser.click_button('New')
        browser.fill('name', "Charles Babbage Ltd")
        browser.save()
        browser.assert_text("Record saved.")
        session = support.login(self.base_url, self.database)
        names = [p['name'] for p in support.rpc(
                f'{self.base_url}/{self.database}/rpc/',
                'model.party.party.search_read',
                [[], 0, None, None, ['name'], {}], session=session)]
        self.assertEqual(sorted(names), ["Ada Lovelace Consulting",
                "Charles Babbage Ltd"])
