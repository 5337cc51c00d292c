# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import trytond.config as config
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .exceptions import PDFError


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    def get_css_pdf(self):
        """Return the file name and the content of the invoice report as PDF

        The report is the one Tryton keeps for an issued customer invoice
        (rendered and cached by its first print), converted by Tryton's report
        conversion (``[report] convert_command``) when its format is not PDF.
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
