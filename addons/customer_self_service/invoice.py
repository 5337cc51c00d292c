# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import hashlib

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .exceptions import PDFError


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    css_pdf_cache = fields.Binary(
        "Portal PDF", file_id='css_pdf_cache_id', readonly=True)
    css_pdf_cache_id = fields.Char("Portal PDF ID", readonly=True)
    css_pdf_cache_key = fields.Char(
        "Portal PDF Key", readonly=True,
        help="The SHA-256 digest of the invoice report converted to the "
        "portal PDF.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The PDF of an issued invoice is stored at its first download
        cls._check_modify_exclude |= {
            'css_pdf_cache', 'css_pdf_cache_id', 'css_pdf_cache_key'}

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        for name in ['css_pdf_cache', 'css_pdf_cache_id', 'css_pdf_cache_key']:
            default.setdefault(name, None)
        return super().copy(invoices, default=default)

    def create_invoice_report_revision(self):
        revision = super().create_invoice_report_revision()
        if revision:
            # Converted from the report archived in the revision
            self.css_pdf_cache = None
            self.css_pdf_cache_key = None
        return revision

    def get_css_pdf(self):
        """Return the file name and the content of the invoice report as PDF

        The report is the one Tryton keeps for an issued customer invoice
        (rendered and cached by its first print), converted by Tryton's report
        conversion (``[report] convert_command``) when its format is not PDF.
        The PDF of an issued invoice is stored with the digest of the report
        it comes from and served again while the report is the same.
        Raise PDFError when the conversion is not available."""
        filename, content = self.get_report_pdf(timeout=config.getint(
                'customer_self_service', 'pdf_timeout', default=60))
        if content is None:
            raise PDFError(gettext(
                    'customer_self_service.msg_portal_pdf_unavailable',
                    invoice=self.rec_name))
        return filename, content

    def get_css_edocument(self):
        """Return the file name, content and MIME type of the e-invoice:
        the one delivered (stored) or else produced and validated now"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        filename = self._get_edocument_filename()
        with without_check_access():
            attachments = Attachment.search([
                    ('resource', '=', str(self)),
                    ('name', '=', filename),
                    ], limit=1)
        if attachments:
            attachment, = attachments
            data = attachment.data
        else:
            data = self.get_edocument().data
        mimetype = 'application/pdf' if filename.endswith('.pdf') else (
            'application/xml')
        return filename, bytes(data), mimetype

    def _convert_report_pdf(self, format_, content, timeout):
        """Return the PDF of the report content: the one stored for the same
        report (its SHA-256 digest) or converted, and then stored"""
        key = hashlib.sha256(content).hexdigest()
        if self.css_pdf_cache and self.css_pdf_cache_key == key:
            return 'pdf', bytes(self.css_pdf_cache)
        format_, pdf = super()._convert_report_pdf(format_, content, timeout)
        if (format_ == 'pdf' and pdf.startswith(b'%PDF')
                and self.invoice_report_versioned):
            self.__class__.write([self], {
                    'css_pdf_cache': self.__class__.css_pdf_cache.cast(pdf),
                    'css_pdf_cache_key': key,
                    })
        return format_, pdf
