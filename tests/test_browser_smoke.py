"""Smoke test of the web client: sao from a real trytond in Chromium."""
import os
import shutil

from tests.browser import BrowserTestCase
from tests.support import ROOT

PARTY_NAME = "Ada Lovelace Consulting"
README_SCREENSHOT = os.path.join(
    ROOT, 'docs', 'screenshots', 'web-client-party.png')


def create_customer(config):
    "Create the customer the test opens; return its id."
    from proteus import Model
    Party = Model.get('party.party')
    party = Party(name=PARTY_NAME)
    party.addresses[0].city = "London"
    party.save()
    return {'party': party.id}


class WebClientSmokeTest(BrowserTestCase):
    modules = ['party']
    setup_hook = create_customer

    def test_open_customer(self):
        "Log in, open the customer's form, see its name, screenshot it"
        browser = self.browser
        browser.open_model('party.party', self.setup_data['party'])
        browser.assert_text(PARTY_NAME)
        self.assertEqual(browser.value('name'), PARTY_NAME)
        path = browser.screenshot('web-client-party')
        self.assertGreater(os.path.getsize(path), 10_000)
        os.makedirs(os.path.dirname(README_SCREENSHOT), exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)

    def test_customer_list(self):
        "The parties list shows the customer"
        browser = self.browser
        browser.open_model('party.party')
        browser.assert_text(PARTY_NAME)
        browser.screenshot('web-client-party-list')
