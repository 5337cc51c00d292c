"""The invoicing run's e-invoice output step for N invoices in each format.

Usage (SQLite in memory, the test database of customer_billing's
e-invoice tests)::

    DB_NAME=:memory: .venv/bin/python bench/edocument_output.py [N]

It posts N invoices (two lines, two tax rates) with the set-up of
``CustomerBillingEDocumentTestCase``, then measures for each format the
step the run's send step calls (``account.invoice.store_edocuments``:
render, schema validation, attachment) with its wall time and the peak of
the Python memory (``tracemalloc``), rolled back after each format.  The
invoice report is rendered once per invoice before the measure and kept as
Tryton keeps it (``invoice_report_cache``) as a PDF, so the LibreOffice
conversion Factur-X needs is measured apart on a sample.
"""
import datetime as dt
import os
import sys
import time
import tracemalloc

os.environ.setdefault('DB_NAME', ':memory:')

from trytond.tests.test_tryton import (  # noqa: E402
    activate_module, with_transaction)

from trytond.modules.customer_billing.tests.test_edocument import (  # noqa
    MODULES, CustomerBillingEDocumentTestCase)
from trytond.modules.company.tests import set_company  # noqa: E402
from trytond.pool import Pool  # noqa: E402
from trytond.transaction import Transaction  # noqa: E402

FORMATS = ['ubl', 'peppol', 'facturx']


@with_transaction()
def main(count):
    pool = Pool()
    Invoice = pool.get('account.invoice')
    helper = CustomerBillingEDocumentTestCase()
    data = helper.setup_billing()
    standard, reduced = data['taxes']
    account = data['accounts']['customer']
    results = []
    with set_company(data['company']):
        start = time.perf_counter()
        first = helper.create_invoice(data, data['customer'], account, [
                (2, '100', standard), (1, '50', reduced)])
        # the conversion by LibreOffice of one report (Factur-X's PDF)
        convert = time.perf_counter()
        _, pdf = first.get_report_pdf()
        convert = time.perf_counter() - convert
        invoices = Invoice.copy([first] * (count - 1), default={
                'invoice_date': first.invoice_date})
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post(invoices)
        invoices = [first] + invoices
        Invoice.write(invoices, {
                'invoice_report_cache': pdf,
                'invoice_report_format': 'pdf',
                })
        setup = time.perf_counter() - start
        transaction = Transaction()
        for format_ in FORMATS:
            helper.set_format(account, format_)
            transaction.commit()
            invoices = Invoice.browse([i.id for i in invoices])
            tracemalloc.start()
            start = time.perf_counter()
            delivered, refused = Invoice.store_edocuments(invoices)
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert len(delivered) == count and not refused, refused
            results.append((format_, seconds, peak))
            transaction.rollback()
    print(f"{count} invoices posted in {setup:.1f} s; "
        f"one report converted to PDF by LibreOffice in {convert:.1f} s")
    print("| format | time (s) | per invoice (ms) | peak Python memory (MB) |")
    print("|---|---|---|---|")
    for format_, seconds, peak in results:
        print(f"| {format_} | {seconds:.1f} | {seconds / count * 1000:.1f} "
            f"| {peak / 2 ** 20:.1f} |")


if __name__ == '__main__':
    activate_module(MODULES)
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    print(dt.datetime.now().isoformat(timespec='seconds'))
