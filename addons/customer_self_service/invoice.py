# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import trytond.config as config
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.tools import slugify

from .exceptions import PDFError


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    def get_css_pdf(self):
        """Return the file name and the content of the invoice report as PDF

        The report is the one Tryton keeps for an issued customer invoice
        (rendered and cached by its first print), converted by Tryton's report
        conversion (``[report] convert_command``) when its format is not PDF.
        Raise PDFError when the conversion is not available."""
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        InvoiceReport = pool.get('account.invoice', type='report')
        format_, content, _, name = InvoiceReport.execute([self.id], {})
        if format_ != 'pdf':
            # An action of the same template with PDF as output format
            action = ActionReport(
                report_name=InvoiceReport.__name__,
                template_extension=format_, extension='pdf')
            # One attempt: the retries of Report.convert in 8.0 reuse the
            # consumed iterator of the command arguments (IndexError)
            format_, content = InvoiceReport.convert(
                action, content,
                timeout=config.getint(
                    'customer_self_service', 'pdf_timeout', default=60),
                retry=0)
        if isinstance(content, str):
            content = content.encode('utf-8')
        content = bytes(content)
        if format_ != 'pdf' or not content.startswith(b'%PDF'):
            raise PDFError(gettext(
                    'customer_self_service.msg_portal_pdf_unavailable',
                    invoice=self.rec_name))
        return f'{slugify(name)}.pdf', content
