# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""Portal routes under load: the stored invoice PDF and the number of SQL
queries of the invoice list."""
import contextlib
import hashlib
from decimal import Decimal
from http import HTTPStatus
from unittest import mock

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.customer_self_service.tests.test_routes import (
    PortalTestMixin, create_customer_invoices, create_ledger)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction


@contextlib.contextmanager
def recorded_queries():
    "Record the SQL statements executed by trytond's cursors in the block"
    with Transaction().start(DB_NAME, 0, readonly=True) as transaction:
        cursor_class = type(transaction.connection.cursor())
    queries = []
    original = cursor_class.execute

    def execute(self, query, *args, **kwargs):
        queries.append(query)
        return original(self, query, *args, **kwargs)
    with mock.patch.object(cursor_class, 'execute', execute):
        yield queries


class CustomerSelfServiceCacheRouteTestCase(PortalTestMixin, RouteTestCase):
    "Test the stored invoice PDF and the queries of the portal's pages"
    module = 'customer_self_service'

    @classmethod
    def setUpDatabase(cls):
        company = create_company()
        with set_company(company):
            create_ledger(company)
            # Dated today: one sequence numbers them in this order
            _, _, two = create_customer_invoices(company, "Two", 'TWO',
                [(0, Decimal('10.00') + i) for i in range(2)])
            _, _, twenty = create_customer_invoices(company, "Twenty",
                'TWENTY', [(0, Decimal('10.00') + i) for i in range(20)])
            cls.two_invoice = two[0].id

    def convert(self):
        """Patch the report conversion of the invoice report with a fake
        PDF converter counting its conversions in self.conversions"""
        InvoiceReport = Pool(DB_NAME).get('account.invoice', type='report')
        self.conversions = 0

        def convert(action, content, **kwargs):
            output = action.extension or action.template_extension
            if output == action.template_extension:
                # Rendering the report itself: nothing to convert
                return output, content
            self.conversions += 1
            digest = hashlib.sha256(bytes(content)).hexdigest()
            return 'pdf', b'%PDF-1.4 converted ' + digest.encode()
        return mock.patch.object(
            InvoiceReport, 'convert', side_effect=convert)

    def stored(self):
        "Return the stored PDF, its key and the digest of the report"
        pool = Pool(DB_NAME)
        Invoice = pool.get('account.invoice')
        with Transaction().start(DB_NAME, 0, readonly=True):
            invoice = Invoice(self.two_invoice)
            report = invoice.invoice_report_cache
            return (invoice.css_pdf_cache and bytes(invoice.css_pdf_cache),
                invoice.css_pdf_cache_key,
                report and hashlib.sha256(bytes(report)).hexdigest())

    def download(self, client):
        response = client.get(
            self.url(f'/invoices/{self.two_invoice}/download'))
        self.assertEqual(response.status_code, HTTPStatus.OK,
            response.get_data(as_text=True))
        return response.get_data()

    def test_pdf_stored(self):
        "The second download serves the stored PDF; a new report converts"
        pool = Pool(DB_NAME)
        Invoice = pool.get('account.invoice')
        client = self.client()
        self.login(client, 'two')
        with self.convert():
            first = self.download(client)
            self.assertEqual(self.conversions, 1)
            pdf, key, digest = self.stored()
            # The PDF converted from the report stored by its first print
            self.assertEqual(pdf, first)
            self.assertEqual(key, digest)
            self.assertEqual(
                first, b'%PDF-1.4 converted ' + digest.encode())

            second = self.download(client)
            self.assertEqual(self.conversions, 1)
            self.assertEqual(second, first)

            # Tryton's refresh of the invoice report (the transition of
            # its wizard) archives the report: the PDF goes with it
            with Transaction().start(DB_NAME, 0) as transaction:
                invoice = Invoice(self.two_invoice)
                invoice.comment = "Refreshed"
                invoice.create_invoice_report_revision()
                Invoice.save([invoice])
                transaction.commit()
            self.assertEqual(self.stored()[:2], (None, None))
            third = self.download(client)
            self.assertEqual(self.conversions, 2)
            pdf, key, digest = self.stored()
            self.assertEqual((pdf, key), (third, digest))

            # A stored report that is not the one of the PDF converts again
            with Transaction().start(DB_NAME, 0) as transaction:
                Invoice.write([Invoice(self.two_invoice)], {
                        'css_pdf_cache_key': 'f' * 64})
                transaction.commit()
            self.download(client)
            self.assertEqual(self.conversions, 3)
            self.assertEqual(self.stored()[1], digest)

    def invoice_list_queries(self, login, rows):
        "Return the queries of a second invoice list page of the login"
        client = self.client()
        self.login(client, login)
        # The first page fills the caches of the process (languages,
        # translations, access rights)
        client.get(self.url('/invoices'))
        with recorded_queries() as queries:
            response = client.get(self.url('/invoices'))
        page = response.get_data(as_text=True)
        self.assertEqual(response.status_code, HTTPStatus.OK, page)
        self.assertEqual(page.count('class="invoice"'), rows)
        return queries

    def test_invoice_list_queries(self):
        "The invoice list runs as many queries for 20 invoices as for 2"
        two = self.invoice_list_queries('two', 2)
        twenty = self.invoice_list_queries('twenty', 20)
        self.assertEqual(len(twenty), len(two), '\n'.join(
                f'{a!s:.100}  |  {b!s:.100}'
                for a, b in zip(two + [''] * 50, twenty)))
