import time
from tests.browser import BrowserTestCase
from tests.test_status_browser import create_ledger


class Debug(BrowserTestCase):
    modules = ['customer_status']
    setup_hook = create_ledger

    def test_debug(self):
        b = self.browser
        try:
            b.open_action('customer_status.act_snapshot', timeout=60)
        except Exception as e:
            print('ERR', e)
        time.sleep(2)
        for entry in b.driver.get_log('browser'):
            print(entry)
        b.screenshot('status-debug')
