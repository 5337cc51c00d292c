"""Never a double bill between an invoicing run and stock sale invoicing.

On PostgreSQL with real ``trytond-worker`` processes (in the PostgreSQL
pass, skipped elsewhere as the other reliability tests are): stock *Create
Invoice* (``Sale.manual_invoice``) over the sales and an invoicing run over
the same sale lines, in both orders and started together in two processes.
Both paths take the same claim, the row lock of the sale (stock
``Sale.process`` locks it, the run's batch locks it before billing), so
afterwards every sale line has exactly one invoice line and the run's items
the other path billed are *Cancelled*, naming the invoice.
"""
import time
import unittest

from tests import test_invoicing_run_billing_paths as billing_paths
from tests import test_invoicing_run_reliability as reliability

SALES = 60


class InvoicingRunDoubleBillTestCase(
        reliability.InvoicingRunReliabilityTestCase):
    "Stock sale invoicing and an invoicing run bill each sale line once"

    # the site, workers and helpers of the run reliability tests, not their
    # two cases (they run in their own module)
    test_concurrent_runs = test_killed_worker = None
    sales = SALES

    def communicate(self, process):
        output, _ = process.communicate(timeout=120)
        output = output.decode()
        self.assertNotIn('Traceback', output, output[-3000:])
        return output

    def stock_invoice(self, start_at=0, hold=0):
        return self.python(billing_paths.ACTIONS, self.company, start_at,
            hold, 'sale_invoice')

    def start_run(self, start_at=0):
        return self.python(
            reliability.START_RUN, self.company, start_at, 1, 20, 0)

    def assert_billed_once(self):
        "Every sale line has exactly one invoice line"
        rows = self.query(
            "SELECT sl.id, COUNT(il.id) FROM sale_line sl "
            "LEFT JOIN account_invoice_line il "
            "ON il.origin = 'sale.line,' || sl.id "
            "GROUP BY sl.id")
        self.assertEqual(len(rows), SALES)
        self.assertEqual({c for _, c in rows}, {1}, rows)

    def cancelled_errors(self):
        return [e for e, in self.query(
                "SELECT error FROM customer_invoicing_run_item "
                "WHERE state = 'cancelled'")]

    def test_stock_then_run(self):
        "Stock invoices first: the run finds nothing left to bill"
        self.assertIn('stock %s' % SALES,
            self.communicate(self.stock_invoice()))
        output = self.communicate(self.start_run())
        self.assertRegex(output.strip().splitlines()[-1],
            r'^error RunError The invoicing run .* finds no billable item')
        self.assert_billed_once()

    def test_run_then_stock(self):
        "The run bills first: stock Create Invoice adds no line"
        self.start_worker('worker-1')
        self.assertIn('run ', self.communicate(self.start_run()))
        self.wait_runs_finished()
        self.assertEqual(self.item_counts(), {'done': SALES})
        self.communicate(self.stock_invoice())
        self.assert_billed_once()

    def test_run_collected_then_stock(self):
        """The run collects its items, stock invoices before the worker
        bills them: stock leaves the lines pending in the run to it"""
        self.assertIn('run ', self.communicate(self.start_run()))
        self.communicate(self.stock_invoice())
        self.start_worker('worker-1')
        self.wait_runs_finished()
        self.assertEqual(self.item_counts(), {'done': SALES})
        self.assert_billed_once()

    def test_concurrent(self):
        """Stock invoicing (holding its locks for 2 s) and a run started
        together with a worker running"""
        self.start_worker('worker-1')
        start_at = time.time() + 3
        stock = self.stock_invoice(start_at, hold=2)
        run = self.start_run(start_at + 0.5)
        self.communicate(stock)
        run_output = self.communicate(run)
        if 'run ' in run_output:
            self.wait_runs_finished()
            counts = self.item_counts()
            # whichever took the lock of a sale first billed its line
            self.assertEqual(sum(counts.values()), SALES, counts)
            self.assertLessEqual(set(counts), {'done', 'cancelled'}, counts)
        self.assert_billed_once()


if __name__ == '__main__':
    unittest.main()
