# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
import email
import email.policy
import io
import os
import unittest
from decimal import Decimal

import facturx
from lxml import etree
from pypdf import PdfReader

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import set_company
from trytond.modules.customer_billing.edocument import (
    CII_NS, FACTURX_LEVEL, ubl_schema)
from trytond.modules.customer_billing.exceptions import EDocumentError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

UBL_NS = {
    'cac': 'urn:oasis:names:specification:ubl:schema:xsd:'
    'CommonAggregateComponents-2',
    'cbc': 'urn:oasis:names:specification:ubl:schema:xsd:'
    'CommonBasicComponents-2',
    }
MODULES = ['customer_billing', 'edocument_peppol', 'edocument_uncefact']


class CustomerBillingEDocumentTestCase(unittest.TestCase):
    "Test the e-invoices of the billing profiles"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)

    def setup_billing(self):
        "Create the company, taxes, customers and profiles; return a dict"
        pool = Pool()
        Account = pool.get('account.account')
        Company = pool.get('company.company')
        Country = pool.get('country.country')
        Currency = pool.get('currency.currency')
        Rate = pool.get('currency.currency.rate')
        CustomerAccount = pool.get('customer.account')
        FiscalYear = pool.get('account.fiscalyear')
        Journal = pool.get('account.journal')
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Tax = pool.get('account.tax')
        Uom = pool.get('product.uom')
        Template = pool.get('product.template')
        Category = pool.get('product.category')
        ModelData = pool.get('ir.model.data')

        be, fr = Country.create([
                {'name': "Belgium", 'code': 'BE'},
                {'name': "France", 'code': 'FR'}])
        eur, usd = Currency.create([
                {'name': "Euro", 'code': 'EUR', 'symbol': '€'},
                {'name': "US Dollar", 'code': 'USD', 'symbol': '$'}])
        Rate.create([
                {'currency': eur.id, 'rate': 1, 'date': dt.date(2026, 1, 1)},
                {'currency': usd.id, 'rate': Decimal('1.1'),
                    'date': dt.date(2026, 1, 1)}])

        def party(name, vat=None, country=be, **values):
            return {
                'name': name,
                'addresses': [('create', [{
                                'street': f"{name} street 1",
                                'postal_code': '1000', 'city': "Brussels",
                                'country': country.id}])],
                'identifiers': [('create', [{'type': 'eu_vat', 'code': vat}])]
                if vat else [],
                **values}
        company_party, = Party.create([
                party("Seller", "FR40303265045", country=fr)])
        company = Company(party=company_party, currency=eur)
        company.save()
        with set_company(company):
            create_chart(company)
            fiscalyear = set_invoice_sequences(get_fiscalyear(
                    company, today=dt.date(2026, 6, 1)))
            fiscalyear.save()
            FiscalYear.create_period([fiscalyear])
            tax_account, = Account.search([
                    ('type.statement', '=', 'balance'),
                    ('type.payable', '=', False),
                    ('type.receivable', '=', False),
                    ('closed', '=', False),
                    ], limit=1)
            revenue, = Account.search([
                    ('type.revenue', '=', True), ('closed', '=', False),
                    ], limit=1)
            journal, = Journal.search([('type', '=', 'revenue')], limit=1)
            unit = Uom(ModelData.get_id('product', 'uom_unit'))
            category, = Category.create([{
                        'name': "Services", 'accounting': True,
                        'account_revenue': revenue.id}])
            template, = Template.create([{
                        'name': "Service", 'type': 'service',
                        'default_uom': unit.id,
                        'account_category': category.id,
                        'products': [('create', [{}])]}])
            standard, reduced = Tax.create([{
                        'name': name, 'description': name,
                        'type': 'percentage', 'rate': rate,
                        'invoice_account': tax_account.id,
                        'credit_note_account': tax_account.id,
                        'unece_code': 'VAT', 'unece_category_code': 'S',
                        } for name, rate in [
                        ("VAT 21%", Decimal('0.21')),
                        ("VAT 6%", Decimal('0.06'))]])
            headquarter, = Party.create([
                    party("Headquarter", 'BE0477472701')])
            customer, branch, payer, incomplete = Party.create([
                    party("Customer", 'BE0403019261'),
                    party("Branch", headquarter=headquarter.id),
                    party("Payer", 'BE0202239951'),
                    party("No VAT"),
                    ])
            profiles = {}
            for format_ in ['pdf', 'ubl', 'peppol', 'facturx']:
                profiles[format_], = Profile.create([{
                            'code': format_, 'name': format_,
                            'channel': 'ubl', 'edocument_format': format_,
                            }])
            hq_profile, = Profile.create([{
                        'code': 'hq', 'name': "HQ", 'channel': 'ubl',
                        'bill_to': 'headquarter',
                        }])
            accounts = CustomerAccount.create([
                    {'code': code, 'party': p.id, 'profile': pr.id}
                    for code, p, pr in [
                        ('C', customer, profiles['ubl']),
                        ('B', branch, hq_profile),
                        ('N', incomplete, profiles['peppol']),
                        ]])
        return {
            'product': template.products[0],
            'company': company, 'journal': journal, 'revenue': revenue,
            'taxes': (standard, reduced), 'eur': eur, 'usd': usd,
            'customer': customer, 'branch': branch, 'payer': payer,
            'headquarter': headquarter, 'incomplete': incomplete,
            'profiles': profiles, 'accounts': dict(
                zip(['customer', 'branch', 'incomplete'], accounts)),
            'unit': unit,
            }

    def create_invoice(self, data, party, account, lines, currency=None,
            origin=None):
        "Create and post an invoice of (quantity, price, tax) lines"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        currency = currency or data['eur']
        invoice = Invoice(
            type='out', company=data['company'], party=party,
            invoice_address=party.address_get(type='invoice'),
            account=party.account_receivable_used,
            journal=data['journal'],
            currency=currency,
            invoice_date=dt.date(2026, 11, 30),
            originating_customer=origin or party,
            customer_account=account,
            lines=[{
                    'account': data['revenue'],
                    'product': data['product'],
                    'description': f"Service {i}",
                    'quantity': quantity, 'unit': data['unit'],
                    'unit_price': Decimal(price),
                    'taxes': [tax], 'currency': currency,
                    } for i, (quantity, price, tax) in enumerate(lines)])
        invoice.bill_to_third_party = invoice._is_billed_to_third_party()
        invoice.save()
        # the lines have other taxes than the product's defaults on purpose
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post([invoice])
        return invoice

    def set_format(self, account, format_):
        account.edocument_format = format_
        account.save()

    def assert_ubl_valid(self, data, kind):
        xml = etree.fromstring(data)
        ubl_schema(kind).assertValid(xml)
        return xml

    def assert_facturx_valid(self, data):
        "Check the PDF embeds a Factur-X XML valid against its XSD; return it"
        self.assertTrue(data.startswith(b'%PDF'))
        filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
        self.assertEqual(filename, 'factur-x.xml')
        self.assertTrue(facturx.xml_check_xsd(
                xml, flavor='factur-x', level=FACTURX_LEVEL))
        self.assertEqual(facturx.get_level(etree.fromstring(xml)),
            FACTURX_LEVEL)
        PdfReader(io.BytesIO(data))
        return etree.fromstring(xml)

    def produce(self, invoice, format_):
        "Return the validated e-invoice data of invoice in format_"
        self.set_format(invoice.customer_account, format_)
        invoice = invoice.__class__(invoice.id)
        self.assertEqual(invoice.get_edocument_format(), format_)
        return invoice.get_edocument()

    @with_transaction()
    def test_formats_several_taxes_credit_note_currency(self):
        "Each format for several tax rates, a credit note, a currency"
        data = self.setup_billing()
        standard, reduced = data['taxes']
        account = data['accounts']['customer']
        with set_company(data['company']):
            invoice = self.create_invoice(
                data, data['customer'], account, [
                    (2, '100', standard), (1, '50', reduced)])
            # 2 x 100 x 21% = 42 + 50 x 6% = 3: 250 + 45 = 295
            self.assertEqual(invoice.total_amount, Decimal('295.00'))
            credit = self.create_invoice(
                data, data['customer'], account, [(-1, '100', standard)])
            self.assertEqual(credit.sequence_type, 'credit_note')
            foreign = self.create_invoice(
                data, data['customer'], account, [(3, '10', reduced)],
                currency=data['usd'])

            for format_ in ['ubl', 'peppol']:
                xml = self.assert_ubl_valid(
                    self.produce(invoice, format_).data, 'Invoice')
                self.assertEqual(sorted(xml.xpath(
                            'cac:TaxTotal/cac:TaxSubtotal/'
                            'cbc:TaxAmount/text()',
                            namespaces=UBL_NS)), ['3.00', '42.00'])
                self.assertEqual(xml.xpath(
                        'cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount/text()',
                        namespaces=UBL_NS), ['295.00'])
                xml = self.assert_ubl_valid(
                    self.produce(credit, format_).data, 'CreditNote')
                self.assertEqual(xml.xpath(
                        'cbc:CreditNoteTypeCode/text()', namespaces=UBL_NS),
                    ['381'])
                xml = self.assert_ubl_valid(
                    self.produce(foreign, format_).data, 'Invoice')
                self.assertEqual(xml.xpath(
                        'cbc:DocumentCurrencyCode/text()', namespaces=UBL_NS),
                    ['USD'])
            peppol = self.produce(invoice, 'peppol').data
            self.assertIn(b'urn:fdc:peppol.eu:2017:poacc:billing:3.0', peppol)

            document = self.produce(invoice, 'facturx')
            self.assertEqual(document.mimetype, 'application/pdf')
            xml = self.assert_facturx_valid(document.data)
            self.assertEqual(sorted(xml.xpath(
                        '//ram:ApplicableTradeTax/ram:CalculatedAmount/text()',
                        namespaces=CII_NS)), ['3.00', '42.00'])
            xml = self.assert_facturx_valid(
                self.produce(credit, 'facturx').data)
            self.assertEqual(xml.xpath(
                    '//rsm:ExchangedDocument/ram:TypeCode/text()',
                    namespaces=CII_NS), ['381'])
            xml = self.assert_facturx_valid(
                self.produce(foreign, 'facturx').data)
            self.assertEqual(xml.xpath(
                    '//ram:InvoiceCurrencyCode/text()', namespaces=CII_NS),
                ['USD'])

    @with_transaction()
    def test_headquarter_and_third_party(self):
        "The buyer is the headquarter or the third party in each format"
        pool = Pool()
        Authorization = pool.get('customer.third_party.authorization')
        data = self.setup_billing()
        standard, _ = data['taxes']
        with set_company(data['company']):
            # the branch billed to its headquarter: the branch is the
            # ship-to party of the CII (UBL of edocument_ubl has no place)
            hq_invoice = self.create_invoice(
                data, data['headquarter'], data['accounts']['branch'],
                [(1, '80', standard)], origin=data['branch'])
            Authorization.create([{
                        'customer': data['customer'].id,
                        'third_party': data['payer'].id}])
            third = self.create_invoice(
                data, data['payer'], data['accounts']['customer'],
                [(1, '40', standard)], origin=data['customer'])
            self.assertTrue(third.bill_to_third_party)
            for invoice, buyer in [
                    (hq_invoice, "Headquarter"), (third, "Payer")]:
                for format_ in ['ubl', 'peppol']:
                    xml = self.assert_ubl_valid(
                        self.produce(invoice, format_).data, 'Invoice')
                    customer, = xml.xpath(
                        'cac:AccountingCustomerParty', namespaces=UBL_NS)
                    self.assertIn(buyer, etree.tostring(customer).decode())
                xml = self.assert_facturx_valid(
                    self.produce(invoice, 'facturx').data)
                self.assertEqual(xml.xpath(
                        '//ram:BuyerTradeParty/ram:Name/text()',
                        namespaces=CII_NS), [buyer])
            self.assertEqual(xml.xpath(
                    '//ram:ShipToTradeParty/ram:Name/text()',
                    namespaces=CII_NS), [])
            xml = self.assert_facturx_valid(
                self.produce(hq_invoice, 'facturx').data)
            self.assertEqual(xml.xpath(
                    '//ram:ShipToTradeParty/ram:Name/text()',
                    namespaces=CII_NS), ["Branch"])

    @with_transaction()
    def test_incomplete_party_refused(self):
        "A party without VAT id or endpoint is refused, nothing is sent"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Delivery = pool.get('customer.email.delivery')
        Invoice = pool.get('account.invoice')
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        data = self.setup_billing()
        standard, _ = data['taxes']
        party = data['incomplete']
        with set_company(data['company']):
            invoice = self.create_invoice(
                data, party, data['accounts']['incomplete'],
                [(1, '10', standard)])
            # French is loaded as trytond-admin loads a language
            fr, = Lang.search([('code', '=', 'fr')])
            fr.translatable = True
            fr.save()
            Translation.translation_import('fr', 'customer_billing', [
                    os.path.join(os.path.dirname(__file__), '..', 'locale',
                        'fr.po')])
            with Transaction().set_context(language='fr'):
                invoice = Invoice(invoice.id)
                with self.assertRaises(EDocumentError) as cm:
                    invoice.get_edocument()
            self.assertIn("n'a pas d'identifiant de TVA", cm.exception.message)

            # the delivery of the posted invoice stores nothing
            Invoice.deliver_billing([invoice])
            invoice = Invoice(invoice.id)
            self.assertFalse(invoice.billing_delivered)
            self.assertFalse(Attachment.search(
                    [('resource', '=', str(invoice))]))
            self.assertEqual(invoice.billing_delivery_state, 'failed')
            delivery, = invoice.billing_deliveries
            self.assertIn('No VAT', delivery.error)
            # no VAT identifier and no endpoint (an EAS identifier)
            self.assertIn('electronic address', delivery.error)

            # a unit without UN/ECE code is refused too; the clerk fixes the
            # unit and retries the delivery, which stores the e-invoice now
            unit = data['unit']
            code, unit.unece_code = unit.unece_code, None
            unit.save()
            self.set_format(data['accounts']['customer'], 'peppol')
            invoice = self.create_invoice(
                data, data['customer'], data['accounts']['customer'],
                [(1, '10', standard)])
            Invoice.deliver_billing([invoice])
            delivery, = Invoice(invoice.id).billing_deliveries
            self.assertEqual(delivery.state, 'failed')
            self.assertIn('UN/ECE code', delivery.error)
            unit.unece_code = code
            unit.save()
            Delivery.retry([delivery])
            # the queue task of retry, run as the worker would
            Delivery.send([delivery])
            delivery = Delivery(delivery.id)
            self.assertEqual(delivery.state, 'sent', delivery.error)
            attachment, = Attachment.search(
                [('resource', '=', str(invoice))])
            self.assertEqual(attachment.name, f'{invoice.number}.xml')
            self.assert_ubl_valid(attachment.data, 'Invoice')
            self.assertTrue(Invoice(invoice.id).billing_delivered)

    @with_transaction()
    def test_email_channel_attaches_edocument(self):
        "The email of the invoice carries the validated e-invoice"
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        data = self.setup_billing()
        standard, _ = data['taxes']
        customer = data['customer']
        account = data['accounts']['customer']
        with set_company(data['company']):
            ContactMechanism.create([{
                        'party': customer.id, 'type': 'email',
                        'value': 'billing@example.com', 'invoice': True}])
            profile = account.profile
            profile.channel = 'email'
            profile.save()
            invoice = self.create_invoice(
                data, customer, account, [(1, '10', standard)])
            self.set_format(account, 'peppol')
            invoice = invoice.__class__(invoice.id)
            message = invoice._get_billing_email_message()
            message = email.message_from_bytes(
                message.as_bytes(), policy=email.policy.default)
            names = [p.get_filename() for p in message.iter_attachments()]
            self.assertEqual(len(names), 2)
            xml, = [p for p in message.iter_attachments()
                if p.get_filename().endswith('.xml')]
            self.assert_ubl_valid(xml.get_content(), 'Invoice')
